"""Content negotiation for GraphQL over HTTP: which media type a client accepts best."""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
UTF8_CHARSETS = ("utf-8", "utf8")


def parse_media_range(value: str) -> tuple[str, dict[str, str]]:
    mime, *raw_params = value.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.strip().lower()] = val.strip().strip('"').lower()
    return mime.strip().lower(), params


def _quality(accept: str, media_type: str) -> tuple[float, int]:
    """Return (q, specificity) of the most specific range in ``accept`` matching ``media_type``."""
    kind = media_type.partition("/")[0]
    best: tuple[float, int] = (0.0, -1)
    for item in accept.split(","):
        if not item.strip():
            continue
        mime, params = parse_media_range(item)
        range_kind, _, range_subtype = mime.partition("/")
        if mime == "*/*":
            specificity = 0
        elif range_kind == kind and range_subtype == "*":
            specificity = 1
        elif mime == media_type:
            specificity = 2
        else:
            continue
        if params.get("charset", "utf-8") not in UTF8_CHARSETS or specificity <= best[1]:
            continue
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        best = (q, specificity)
    return (max(best[0], 0.0), best[1])


def negotiate_media_type(accept: str) -> str | None:
    """Pick the response media type for an Accept header, or None when neither is acceptable.

    A missing header or a bare wildcard gets ``application/json`` (the spec's legacy default);
    ``application/graphql-response+json`` wins only when asked for by name.
    """
    if not accept.strip():
        return APPLICATION_JSON
    gr_q, gr_specificity = _quality(accept, GRAPHQL_RESPONSE_JSON)
    json_q, json_specificity = _quality(accept, APPLICATION_JSON)
    if gr_q <= 0 and json_q <= 0:
        return None
    if gr_q != json_q:
        return GRAPHQL_RESPONSE_JSON if gr_q > json_q else APPLICATION_JSON
    if gr_specificity == 2 and gr_specificity >= json_specificity:
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def prefers_html(accept: str) -> bool:
    html_q, html_specificity = _quality(accept, "text/html")
    if html_specificity != 2 or html_q <= 0:
        return False
    best_json_q = max(
        _quality(accept, GRAPHQL_RESPONSE_JSON)[0], _quality(accept, APPLICATION_JSON)[0]
    )
    return html_q >= best_json_q
