"""The API's index, its generated description and the docs page that shows it."""

from __future__ import annotations


def test_index_links_the_description_and_the_docs(client):
    body = client.get("/api/v1/").get_json()
    assert body["version"] == "1"
    assert body["openapi"].endswith("/api/v1/openapi.json")
    assert body["docs"].endswith("/api/v1/docs")


def test_the_description_is_generated_with_the_error_shape_and_security(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    registration = spec["paths"]["/api/v1/events/{event_id}/registration"]["post"]
    assert registration["security"] == [{"token": []}]
    assert {"201", "401", "404", "409", "422", "429"} <= set(registration["responses"])
    body = registration["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["accept_terms"]["type"] == "boolean"
    assert body["additionalProperties"] is False
    organisers = spec["paths"]["/api/v1/events"]["post"]["responses"]
    assert "403" in organisers  # a role is required
    tags = [tag["name"] for tag in spec["tags"]]
    assert tags[:3] == ["about", "auth", "me"] and "api" not in tags
    used = {
        t
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for t in op.get("tags", [])
    }
    assert used <= set(tags)


def test_docs_page_loads_swagger_ui_from_this_site(client):
    client.set_cookie("lang", "da")
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    assert '<html lang="da">' in html
    assert '/static/vendor/swagger-ui-bundle.js"' in html and '/static/js/api-docs.js"' in html
    assert "<script>" not in html  # no inline script: the CSP allows only our own files
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_unknown_api_paths_answer_json_404(client):
    response = client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.put("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
