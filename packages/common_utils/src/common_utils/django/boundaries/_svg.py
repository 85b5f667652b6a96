"""The report as a picture: planned services as clusters, apps inside, ties as weighted edges.

Written with the standard library (ElementTree escapes every name). Clusters sit on a circle,
apps on a smaller circle inside their cluster; an edge's width grows with the log of its weight;
edges across services are red, edges inside one are grey; an app's fill is its proposed group.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from common_utils.django.boundaries._render import counted
from common_utils.django.boundaries._report import Report

_PALETTE = (
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
)  # fmt: skip
_APP_RADIUS = 16
_MARGIN = 60


def render_svg(report: Report) -> str:
    """The SVG document (UTF-8 text)."""
    service = report.plan.service_of
    clusters: dict[str, list[str]] = {}
    for app in report.apps:
        clusters.setdefault(service(app), []).append(app)
    names = sorted(clusters)
    radius = {name: _cluster_radius(len(clusters[name])) for name in names}
    ring = sum(2 * r + 40 for r in radius.values()) / (2 * math.pi) if len(names) > 1 else 0.0
    extent = ring + max(radius.values(), default=0) + _MARGIN
    size = 2 * extent
    centres: dict[str, tuple[float, float]] = {}
    angle = 0.0
    circumference = sum(2 * r + 40 for r in radius.values()) or 1.0
    for name in names:
        share = (2 * radius[name] + 40) / circumference * 2 * math.pi
        angle += share / 2
        centres[name] = (extent + ring * math.cos(angle), extent + ring * math.sin(angle))
        angle += share / 2
    position: dict[str, tuple[float, float]] = {}
    for name in names:
        apps = clusters[name]
        cx, cy = centres[name]
        inner = radius[name] - _APP_RADIUS - 14 if len(apps) > 1 else 0.0
        for index, app in enumerate(apps):
            theta = 2 * math.pi * index / len(apps) - math.pi / 2
            position[app] = (cx + inner * math.cos(theta), cy + inner * math.sin(theta))
    group_of = {app: index for index, g in enumerate(report.cut.groups) for app in g.apps}

    svg = ET.Element(
        "svg",
        xmlns="http://www.w3.org/2000/svg",
        width=f"{size:.0f}",
        height=f"{size + 30:.0f}",
        viewBox=f"0 0 {size:.0f} {size + 30:.0f}",
        attrib={"font-family": "sans-serif", "font-size": "11"},
    )
    ET.SubElement(svg, "title").text = "manage.py boundaries"
    legend = ET.SubElement(svg, "text", x="10", y="18", attrib={"font-size": "12"})
    legend.text = (
        f"{counted(len(report.apps), 'app')} in {counted(len(names), 'planned service')}; "
        "red: ties across services, "
        "grey: inside one; width: weight; fill: proposed group"
    )
    layer = ET.SubElement(svg, "g", transform="translate(0 30)")
    for name in names:
        cx, cy = centres[name]
        cluster = ET.SubElement(layer, "g", attrib={"class": "service"})
        ET.SubElement(cluster, "title").text = f"service {name}: {', '.join(clusters[name])}"
        ET.SubElement(
            cluster,
            "circle",
            cx=f"{cx:.1f}",
            cy=f"{cy:.1f}",
            r=f"{radius[name]:.1f}",
            fill="#f4f6f8",
            stroke="#5b6770",
            attrib={"stroke-dasharray": "4 3"},
        )
        label = ET.SubElement(
            cluster,
            "text",
            x=f"{cx:.1f}",
            y=f"{cy - radius[name] - 6:.1f}",
            attrib={"text-anchor": "middle", "font-weight": "bold"},
        )
        label.text = name
    edges = ET.SubElement(layer, "g", attrib={"class": "ties"})
    for edge in report.edges:
        (x1, y1), (x2, y2) = position[edge.first], position[edge.second]
        crosses = service(edge.first) != service(edge.second)
        line = ET.SubElement(
            edges,
            "line",
            x1=f"{x1:.1f}",
            y1=f"{y1:.1f}",
            x2=f"{x2:.1f}",
            y2=f"{y2:.1f}",
            stroke="#c0392b" if crosses else "#9aa5ad",
            attrib={
                "stroke-width": f"{1 + math.log2(edge.weight):.2f}",
                "stroke-opacity": "0.75",
            },
        )
        kinds = ", ".join(f"{count} {kind}" for kind, count in edge.kinds.items())
        ET.SubElement(
            line, "title"
        ).text = f"{edge.first} - {edge.second}: weight {edge.weight} ({kinds})"
    nodes = ET.SubElement(layer, "g", attrib={"class": "apps"})
    for app in report.apps:
        x, y = position[app]
        node = ET.SubElement(nodes, "g")
        ET.SubElement(
            node, "title"
        ).text = f"app {app}, service {service(app)}, proposed group {group_of[app] + 1}"
        ET.SubElement(
            node,
            "circle",
            cx=f"{x:.1f}",
            cy=f"{y:.1f}",
            r=str(_APP_RADIUS),
            fill=_PALETTE[group_of[app] % len(_PALETTE)],
            stroke="#333333",
        )
        text = ET.SubElement(
            node,
            "text",
            x=f"{x:.1f}",
            y=f"{y + _APP_RADIUS + 12:.1f}",
            attrib={"text-anchor": "middle"},
        )
        text.text = app
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(svg, encoding="unicode") + "\n"


def _cluster_radius(apps: int) -> float:
    if apps <= 1:
        return _APP_RADIUS + 26.0
    # Apps spaced by about 70 px around the inner circle.
    return max(60.0, 70.0 * apps / (2 * math.pi) + _APP_RADIUS + 24)
