/*
 * Starts Swagger UI (/docs) or ReDoc (/redoc) on the local OpenAPI document. The bundles
 * are served by this server (/docs/assets/), so the pages work with no network.
 */
(function () {
  "use strict";
  var swagger = document.getElementById("swagger-ui");
  var redoc = document.getElementById("redoc");
  if (swagger && typeof window.SwaggerUIBundle === "function") {
    swagger.textContent = "";
    window.SwaggerUIBundle({
      url: swagger.getAttribute("data-openapi"),
      domNode: swagger,
      deepLinking: true,
      layout: "BaseLayout",
      presets: [window.SwaggerUIBundle.presets.apis],
      showExtensions: true,
      // The default validator badge is an image from validator.swagger.io: never fetched.
      validatorUrl: null
    });
  } else if (redoc && window.Redoc && typeof window.Redoc.init === "function") {
    redoc.textContent = "";
    window.Redoc.init(redoc.getAttribute("data-openapi"), { hideDownloadButton: false }, redoc);
  }
})();
