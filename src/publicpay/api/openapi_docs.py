"""`/docs`: Swagger UI from the vendored `swagger-ui-dist` package (web.vendor), no CDN.

The page has no inline script (the Content-Security-Policy allows none): Swagger UI starts from
`/static/swagger-init.js`, which reads `/openapi.json`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from publicpay.web.vendor import asset_url

PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>PublicPay 统一公共支付平台 · API 文档</title>
  <link rel="stylesheet" href="{asset_url("swagger-ui-dist", "swagger-ui.css")}">
  <link rel="icon" type="image/png" href="{asset_url("swagger-ui-dist", "favicon-32x32.png")}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{asset_url("swagger-ui-dist", "swagger-ui-bundle.js")}"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
