// The handbook as the server serves it (docs_routes.cpp), through Service::Handle: every page
// and image of docs/ compiled in byte for byte with its media type, /docs sends the browser to
// the web UI's docs page, no token needed, and nothing outside the compiled-in files answers.

#include "phytoflow/server/docs_assets.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

HttpRequest Get(const std::string& path) {
  return HttpRequest{.method = "GET", .path = path};
}

class DocsRoutesTest : public ::testing::Test {
 protected:
  // No token registry and no public reading: the handbook is still served.
  StorePool stores_{OpenSqliteStore(":memory:")};
  ModelCatalog models_;
  Service service_{stores_, models_, nullptr, {.public_read = false}};
};

// Every Markdown page of docs/ and every file of docs/images/ (the test runs in the repository
// root), as CMakeLists.txt selects them: no hidden files, nothing of node_modules.
TEST_F(DocsRoutesTest, ServesEveryPageAndImageByteForByte) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator("docs")) {
    const std::string relative = fs::relative(entry.path(), "docs").generic_string();
    const bool skipped = relative.front() == '.' || relative.find("/.") != std::string::npos ||
                         relative.find("node_modules/") != std::string::npos ||
                         relative.back() == '~';
    const bool wanted = entry.path().extension() == ".md" || relative.starts_with("images/");
    if (entry.is_regular_file() && wanted && !skipped) {
      on_disk.insert(relative);
    }
  }
  std::set<std::string> embedded;
  for (const detail::EmbeddedWebAsset& file : detail::EmbeddedDocFiles()) {
    embedded.insert(std::string(file.path));
  }
  EXPECT_EQ(embedded, on_disk) << "rebuild after adding or removing a page of docs/";
  ASSERT_TRUE(on_disk.count("index.md"));
  ASSERT_TRUE(on_disk.count("tutorials/04-ospar-indicators.md"));
  ASSERT_TRUE(on_disk.count("images/web/samples.png"));

  for (const std::string& file : on_disk) {
    const HttpResponse response = service_.Handle(Get("/docs/" + file));
    ASSERT_EQ(response.status, 200) << file << ": " << response.body;
    EXPECT_EQ(response.body, ReadBytes(fs::path("docs") / file)) << file;
    EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff") << file;
    EXPECT_NE(response.Header("Content-Security-Policy").find("sandbox"), std::string::npos);
  }
}

TEST_F(DocsRoutesTest, MediaTypesAndRevalidation) {
  const HttpResponse page = service_.Handle(Get("/docs/index.md"));
  EXPECT_EQ(page.content_type, "text/markdown; charset=utf-8");
  EXPECT_EQ(service_.Handle(Get("/docs/images/web/samples.png")).content_type, "image/png");
  HttpRequest again = Get("/docs/index.md");
  again.headers["if-none-match"] = page.Header("ETag");
  const HttpResponse not_modified = service_.Handle(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
}

TEST_F(DocsRoutesTest, DocsRedirectsToTheWebUiPage) {
  const HttpResponse response = service_.Handle(Get("/docs"));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.Header("Location"), "/#/docs/index.md");
}

// Only compiled-in files answer: unknown pages, files of docs/ that are not embedded (the
// workshop's package.json), and every way out of docs/ are 404, never a file read from disk.
TEST_F(DocsRoutesTest, UnknownPathsAndTraversalAre404) {
  ASSERT_TRUE(fs::exists("docs/workshop/package.json"));
  ASSERT_TRUE(fs::exists("CMakeLists.txt"));
  for (const std::string path : {"/docs/no-such-page.md",
                                 "/docs/workshop/package.json",
                                 "/docs/../CMakeLists.txt",
                                 "/docs/tutorials/../index.md",
                                 "/docs/..%2FCMakeLists.txt",
                                 "/docs/%2e%2e/CMakeLists.txt",
                                 "/docs/images/web/../../index.md",
                                 "/docs//etc/passwd",
                                 "/docs/a/b/c/d.md"}) {
    const HttpResponse response = service_.Handle(Get(path));
    EXPECT_EQ(response.status, 404) << path << ": " << response.body.substr(0, 200);
    EXPECT_EQ(response.content_type, "application/json") << path;
  }
}

}  // namespace
}  // namespace phytoflow
