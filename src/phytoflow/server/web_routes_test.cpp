// The web UI's files as the server serves them (web_routes.cpp), through Service::Handle: every
// file of web/ is compiled in byte for byte with its media type, revalidates with its ETag, and
// needs no token even when reading does; unknown files are 404.

#include "phytoflow/server/service.h"
#include "phytoflow/server/web_assets.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

HttpRequest Get(const std::string& path) {
  return HttpRequest{.method = "GET", .path = path};
}

class WebRoutesTest : public ::testing::Test {
 protected:
  // An empty store: the files of the UI need no data. No token registry, reads need a token:
  // the UI is still served.
  StorePool stores_{OpenSqliteStore(":memory:")};
  ModelCatalog models_;
  Service service_{stores_, models_, nullptr, {.public_read = false}};
};

// Each file of web/ (the test runs in the repository root) is served as it is on disk, except
// editors' hidden and backup files, as CMakeLists.txt leaves them out.
TEST_F(WebRoutesTest, ServesEveryFileOfWebByteForByte) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator("web")) {
    const std::string relative = fs::relative(entry.path(), "web").generic_string();
    const bool hidden = relative.front() == '.' || relative.find("/.") != std::string::npos;
    if (entry.is_regular_file() && !hidden && relative.back() != '~') {
      on_disk.insert(relative);
    }
  }
  std::set<std::string> embedded;
  for (const detail::EmbeddedWebAsset& asset : detail::EmbeddedWebAssets()) {
    embedded.insert(std::string(asset.path));
  }
  EXPECT_EQ(embedded, on_disk) << "rebuild after adding or removing a file of web/";
  ASSERT_TRUE(on_disk.count("index.html"));
  ASSERT_TRUE(on_disk.count("pages/gallery.js"));

  for (const std::string& file : on_disk) {
    const HttpResponse response = service_.Handle(Get("/ui/" + file));
    ASSERT_EQ(response.status, 200) << file << ": " << response.body;
    EXPECT_EQ(response.body, ReadText(fs::path("web") / file)) << file;
    EXPECT_EQ(response.Header("Cache-Control"), "no-cache") << file;
    EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff") << file;
  }
}

TEST_F(WebRoutesTest, RootIsTheIndexPageWithItsContentSecurityPolicy) {
  const HttpResponse root = service_.Handle(Get("/"));
  ASSERT_EQ(root.status, 200) << root.body;
  EXPECT_EQ(root.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(root.body, ReadText("web/index.html"));
  EXPECT_NE(root.body.find(R"(<script type="module" src="/ui/app.js">)"), std::string::npos);
  // Scripts only from this server: no inline script may read the token.
  EXPECT_NE(root.Header("Content-Security-Policy").find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(root.Header("Cache-Control"), "no-cache");
}

TEST_F(WebRoutesTest, MediaTypesByExtension) {
  EXPECT_EQ(service_.Handle(Get("/ui/app.js")).content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(service_.Handle(Get("/ui/pages/samples.js")).content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(service_.Handle(Get("/ui/style.css")).content_type, "text/css; charset=utf-8");
  EXPECT_EQ(service_.Handle(Get("/ui/favicon.svg")).content_type, "image/svg+xml");
}

// The ETag is the first 16 hex digits of the file's SHA-256, quoted; sending it back gives 304
// without a body, anything else the file again.
TEST_F(WebRoutesTest, RevalidatesWithTheETag) {
  const HttpResponse first = service_.Handle(Get("/ui/app.js"));
  const std::string etag = first.Header("ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.find_first_not_of("0123456789abcdef", 1), 17u) << etag;

  HttpRequest again = Get("/ui/app.js");
  again.headers["if-none-match"] = etag;
  const HttpResponse not_modified = service_.Handle(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(not_modified.Header("ETag"), etag);

  again.headers["if-none-match"] = "\"0000000000000000\"";
  EXPECT_EQ(service_.Handle(again).status, 200);
  // Files differ, so do their ETags.
  EXPECT_NE(service_.Handle(Get("/ui/api.js")).Header("ETag"), etag);
}

TEST_F(WebRoutesTest, UnknownFilesAreNotFound) {
  for (const std::string path : {"/ui/nope.js",
                                 "/ui/pages/app.js",  // app.js is not in pages/
                                 "/ui/pages/../app.js",
                                 "/ui/..",
                                 "/ui/index.html/x",
                                 "/ui/pages/sub/gallery.js"}) {
    const HttpResponse response = service_.Handle(Get(path));
    EXPECT_EQ(response.status, 404) << path << ": " << response.body;
    EXPECT_NE(response.body.find("not_found"), std::string::npos) << path;
  }
  EXPECT_EQ(service_.Handle(HttpRequest{.method = "POST", .path = "/"}).status, 405);
}

}  // namespace
}  // namespace phytoflow
