#pragma once

// The handbook's pages and images (docs/**/*.md, docs/images/**), compiled into the server by
// embed_web_assets.cmake like the web UI; docs_routes.cpp serves them under /docs.

#include "phytoflow/server/web_assets.h"

#include <span>

namespace phytoflow::detail {

// Every embedded file of docs/, by its path relative to docs/ ("index.md",
// "tutorials/01-export-to-darwin-core.md", "images/web/samples.png"), in path order.
std::span<const EmbeddedWebAsset> EmbeddedDocFiles();

}  // namespace phytoflow::detail
