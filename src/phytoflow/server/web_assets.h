#pragma once

// The web UI's files (web/), compiled into the server by embed_web_assets.cmake; web_routes.cpp
// serves them.

#include <span>
#include <string_view>

namespace phytoflow::detail {

struct EmbeddedWebAsset {
  std::string_view path;          // relative to web/: "index.html", "pages/samples.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong, quoted: "\"<16 hex digits of the SHA-256>\""
  std::string_view bytes;
};

// Every file of web/ that is served, in path order.
std::span<const EmbeddedWebAsset> EmbeddedWebAssets();

}  // namespace phytoflow::detail
