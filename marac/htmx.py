"""One place decides whether a request gets a whole page or an htmx fragment."""
from flask import make_response, render_template, request


def is_fragment_request() -> bool:
    """An htmx request that is not a boost or a history restore wants a fragment."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, status: int = 200, **context):
    """Render the fragment for htmx, the full page otherwise; caches must tell them apart."""
    template = fragment if is_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
