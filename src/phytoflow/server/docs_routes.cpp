#include "phytoflow/server/docs_assets.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/routes.h"

namespace phytoflow {
namespace {

// The handbook as files: Markdown as text/markdown and its images, byte for byte. The web UI's
// docs page (web/pages/docs.js) fetches and renders them; a browser that opens one directly
// gets it sandboxed (an SVG could carry a script).
constexpr const char* kContentSecurityPolicy = "default-src 'none'; img-src 'self'; sandbox";

// Only the embedded files can be answered: a path is looked up in the table, never on disk, so
// "..", encoded slashes or absolute paths can only miss.
const detail::EmbeddedWebAsset* FindDocFile(std::string_view path) {
  for (const detail::EmbeddedWebAsset& file : detail::EmbeddedDocFiles()) {
    if (file.path == path) {
      return &file;
    }
  }
  return nullptr;
}

HttpResponse DocFileResponse(const HttpRequest& request, const std::string& path) {
  const detail::EmbeddedWebAsset* file = FindDocFile(path);
  if (file == nullptr) {
    throw HttpError(404, "not_found", "no page or image " + path + " in the handbook");
  }
  HttpResponse response;
  response.SetHeader("ETag", std::string(file->etag));
  response.SetHeader("Cache-Control", "no-cache");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("Content-Security-Policy", kContentSecurityPolicy);
  const std::string if_none_match = request.Header("if-none-match");
  if (!if_none_match.empty() &&
      (if_none_match == "*" || if_none_match.find(file->etag) != std::string::npos)) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = std::string(file->content_type);
  response.body = std::string(file->bytes);
  return response;
}

}  // namespace

void AddDocsRoutes(Router& router, Service::Parts&) {
  // Public like the web UI: the handbook holds no data.
  // GET /docs: the handbook's table of contents, rendered by the web UI's docs page.
  router.Add("GET", "/docs", Access::kPublic, [](const HttpRequest&, const RequestContext&) {
    HttpResponse response;
    response.status = 302;
    response.SetHeader("Location", "/#/docs/index.md");
    response.content_type = "text/plain; charset=utf-8";
    response.body = "The handbook is at /#/docs/index.md\n";
    return response;
  });
  // The router's {name} matches one segment: docs/ is at most three deep
  // (images/web/samples.png).
  router.Add("GET",
             "/docs/{file}",
             Access::kPublic,
             [](const HttpRequest& request, const RequestContext&) {
               return DocFileResponse(request, request.PathParam("file"));
             });
  router.Add("GET",
             "/docs/{dir}/{file}",
             Access::kPublic,
             [](const HttpRequest& request, const RequestContext&) {
               return DocFileResponse(request,
                                      request.PathParam("dir") + "/" + request.PathParam("file"));
             });
  router.Add("GET",
             "/docs/{dir}/{sub}/{file}",
             Access::kPublic,
             [](const HttpRequest& request, const RequestContext&) {
               return DocFileResponse(request,
                                      request.PathParam("dir") + "/" + request.PathParam("sub") +
                                          "/" + request.PathParam("file"));
             });
}

}  // namespace phytoflow
