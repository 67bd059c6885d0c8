#include "phytoflow/server/http_error.h"
#include "phytoflow/server/routes.h"
#include "phytoflow/server/web_assets.h"

#include <set>

namespace phytoflow {
namespace {

// The page asks for a token itself and talks only to this server: no inline scripts or styles,
// nothing from elsewhere (a script injected through, say, a class name could read the token
// from local storage). Images are the vignettes fetched with the token, as blob: URLs.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

const detail::EmbeddedWebAsset* FindAsset(std::string_view path) {
  for (const detail::EmbeddedWebAsset& asset : detail::EmbeddedWebAssets()) {
    if (asset.path == path) {
      return &asset;
    }
  }
  return nullptr;
}

HttpResponse AssetResponse(const HttpRequest& request, std::string_view path) {
  const detail::EmbeddedWebAsset* asset = FindAsset(path);
  if (asset == nullptr) {
    throw HttpError(404, "not_found", "no file " + std::string(path) + " in the web UI");
  }
  HttpResponse response;
  response.SetHeader("ETag", std::string(asset->etag));
  // The modules import each other by fixed names (no content hash in them), so a browser must
  // revalidate every file, or it could mix modules of two versions after an upgrade; a
  // revalidation is a 304 without a body.
  response.SetHeader("Cache-Control", "no-cache");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  if (path == "index.html") {
    response.SetHeader("Content-Security-Policy", kContentSecurityPolicy);
    response.SetHeader("Referrer-Policy", "no-referrer");
  }
  const std::string if_none_match = request.Header("if-none-match");
  if (!if_none_match.empty() &&
      (if_none_match == "*" || if_none_match.find(asset->etag) != std::string::npos)) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = std::string(asset->content_type);
  response.body = std::string(asset->bytes);
  return response;
}

}  // namespace

void AddWebRoutes(Router& router, Service::Parts&) {
  // Public: the files hold no data; the application asks for a token when the API wants one.
  router.Add("GET", "/", Access::kPublic, [](const HttpRequest& request, const RequestContext&) {
    return AssetResponse(request, "index.html");
  });
  // The router's {name} matches one path segment: one route per folder of web/.
  std::set<std::string> folders;
  for (const detail::EmbeddedWebAsset& asset : detail::EmbeddedWebAssets()) {
    const size_t slash = asset.path.rfind('/');
    folders.insert(slash == std::string_view::npos ? "" : std::string(asset.path.substr(0, slash)));
  }
  for (const std::string& folder : folders) {
    const std::string prefix = folder.empty() ? "" : folder + "/";
    router.Add("GET",
               "/ui/" + prefix + "{file}",
               Access::kPublic,
               [prefix](const HttpRequest& request, const RequestContext&) {
                 return AssetResponse(request, prefix + request.PathParam("file"));
               });
  }
}

}  // namespace phytoflow
