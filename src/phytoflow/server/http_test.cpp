// The real server on a loopback port (an ephemeral one), over a SQLite store holding the
// bundled example, with cpp-httplib's client: authentication, reads, pagination, image caching,
// downloads, the DEEPaaS predict endpoint, streamed uploads and their ingest jobs, malformed
// requests and uploads, body limits, the access log and a graceful stop.

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/file_bytes.h"
#include "phytoflow/products/zip_archive.h"
#include "phytoflow/server/accounts.h"
#include "phytoflow/server/http_server.h"
#include "phytoflow/server/job_queue.h"
#include "phytoflow/server/server_test_support.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::kExampleSampleId;

constexpr size_t kMaxBodyBytes = size_t{1} << 20;  // small, to test 413 cheaply
// Above the zipped example run (about 2.5 MB), small enough to send a larger body cheaply.
constexpr uint64_t kMaxUploadBytes = uint64_t{8} << 20;

// A JPEG of the VLIZ demo set: the `index`-th image of `class_name`, by name.
fs::path DemoImage(const std::string& class_name, size_t index = 0) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(
           fs::path("../shared/data/labeled/flowcam_vliz_demo_6class") / class_name)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files.at(index);
}

std::string FileText(const fs::path& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path, "test file");
  return {bytes.begin(), bytes.end()};
}

void ExpectError(const httplib::Result& result, int status, const std::string& code) {
  ASSERT_TRUE(result) << "no response: " << httplib::to_string(result.error());
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  const json body = json::parse(result->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result->body;
  EXPECT_EQ(body["error"]["status"], status);
  EXPECT_EQ(body["error"]["code"], code) << result->body;
}

// Files the service left in the temporary folder: downloads and uploads must be removed.
std::vector<std::string> Leftovers() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(testing_support::TestFolder())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("phytoflow-", 0) == 0) {
      names.push_back(name);
    }
  }
  return names;
}

// The server removes a download once it is sent, which may be just after the client has it.
bool NoLeftoversWithin(std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!Leftovers().empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class HttpTest : public ::testing::Test {
 protected:
  HttpTest()
      : store_path_(testing_support::ExampleStoreCopy(
            std::string("http-") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        stores_([this] { return OpenSqliteStore(store_path_); }, 2),
        models_(testing_support::TestModels()),
        tokens_(*state_),
        upload_dir_(testing_support::TestFolder() /
                    (std::string("uploads-") +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        jobs_(*state_, stores_, models_, {.upload_dir = upload_dir_}),
        service_(stores_, models_, &tokens_, {.temp_dir = testing_support::TestFolder()}, &jobs_) {
    viewer_ = tokens_.Create("vera", Role::kViewer);
    annotator_ = tokens_.Create("anna", Role::kAnnotator).secret;
    server_ = std::make_unique<HttpServer>(
        [this](HttpRequest request) {
          if (request.path == "/slow") {  // for the graceful stop: a request that takes a while
            slow_entered_.set_value();
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            return JsonResponse(R"({"slow": true})");
          }
          return service_.Handle(std::move(request));
        },
        HttpServerOptions{.host = "127.0.0.1",
                          .port = 0,
                          .threads = 8,
                          .max_body_bytes = kMaxBodyBytes,
                          .streamed_upload_paths = {"/api/v1/uploads"},
                          .upload_dir = upload_dir_,
                          .max_upload_bytes = kMaxUploadBytes,
                          .access_log =
                              [this](const std::string& line) {
                                std::lock_guard lock(log_mutex_);
                                log_.push_back(line);
                              },
                          .preflight =
                              [this](const HttpRequest& head) {
                                return service_.Preflight(head);
                              }});
    port_ = server_->Bind();
    serving_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(60);
  }

  ~HttpTest() override {
    server_->Stop();
    serving_.join();
  }

  httplib::Headers As(const std::string& secret) const {
    return {{"Authorization", "Bearer " + secret}};
  }
  httplib::Headers Viewer() const { return As(viewer_.secret); }
  std::string SamplePath() const { return "/api/v1/samples/" + kExampleSampleId; }

  fs::path store_path_;
  StorePool stores_;
  ModelCatalog models_;
  std::unique_ptr<ServiceState> state_ = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens_;
  fs::path upload_dir_;
  JobQueue jobs_;
  Service service_;
  IssuedToken viewer_;
  std::string annotator_;
  std::promise<void> slow_entered_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::thread serving_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpTest, ListensOnAnEphemeralLoopbackPort) {
  EXPECT_GT(port_, 0);
  const auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  const auto ready = client_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(json::parse(ready->body)["models"], 1);
}

TEST_F(HttpTest, RefusesASecondServerOnTheSamePort) {
  // The library's default SO_REUSEPORT would let it bind and take half of the connections.
  HttpServer second([](HttpRequest) { return JsonResponse("{}"); },
                    HttpServerOptions{.host = "127.0.0.1", .port = port_});
  try {
    second.Bind();
    FAIL() << "a second server bound port " << port_;
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
  }
}

TEST_F(HttpTest, AuthenticatesEveryRequest) {
  const auto anonymous = client_->Get("/api/v1/samples");
  ExpectError(anonymous, 401, "unauthorized");
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer realm=\"phytoflow\"");
  ExpectError(client_->Get("/api/v1/samples", As("pft_not-a-token")), 401, "unauthorized");

  const auto listed = client_->Get("/api/v1/samples", Viewer());
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);

  const std::string body = R"({"station": "W08"})";
  ExpectError(client_->Patch(SamplePath() + "/metadata", Viewer(), body, "application/json"),
              403,
              "forbidden");
  const auto patched =
      client_->Patch(SamplePath() + "/metadata", As(annotator_), body, "application/json");
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->status, 200) << patched->body;

  // Revoked while the server runs: refused from the next request on.
  tokens_.Revoke(viewer_.token.id);
  const auto revoked = client_->Get("/api/v1/samples", Viewer());
  ExpectError(revoked, 401, "unauthorized");
  EXPECT_NE(revoked->body.find("revoked"), std::string::npos);
}

TEST_F(HttpTest, ReadsSamplesAndParticlesPageByPage) {
  const auto samples = client_->Get("/api/v1/samples?q=pygsuia&limit=10", Viewer());
  ASSERT_TRUE(samples);
  ASSERT_EQ(samples->status, 200);
  const json list = json::parse(samples->body);
  EXPECT_EQ(list["total"], 1);
  EXPECT_EQ(list["limit"], 10);

  const auto page = client_->Get(SamplePath() + "/particles?limit=3&offset=2", Viewer());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  const json particles = json::parse(page->body);
  EXPECT_EQ(particles["total"], 1000);
  ASSERT_EQ(particles["particles"].size(), 3U);
  // offset 2: the third, fourth and fifth particles of the list.
  EXPECT_EQ(particles["particles"][0]["number"], 3);
  EXPECT_EQ(particles["particles"][2]["number"], 5);

  const auto detail = client_->Get(SamplePath(), Viewer());
  ASSERT_TRUE(detail);
  EXPECT_EQ(json::parse(detail->body)["particles"], 1000);
  const auto labels = client_->Get(SamplePath() + "/labels", Viewer());
  ASSERT_TRUE(labels);
  EXPECT_EQ(json::parse(labels->body)["labels"].size(), 89U);  // the .cla's labels

  ExpectError(client_->Get("/api/v1/samples/no-such-sample", Viewer()), 404, "not_found");
  ExpectError(client_->Get("/api/v1/samples/no-such-sample/particles", Viewer()), 404, "not_found");
  ExpectError(client_->Get("/api/v1/nothing-here", Viewer()), 404, "not_found");
  ExpectError(client_->Get(SamplePath() + "/particles?offset=-1", Viewer()), 400, "bad_request");
  const auto wrong_method = client_->Delete(SamplePath(), Viewer());
  ExpectError(wrong_method, 405, "method_not_allowed");
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "GET");
}

TEST_F(HttpTest, ImagesCarryETagsAndRevalidateWith304) {
  const auto image = client_->Get(SamplePath() + "/particles/12/image.png", Viewer());
  ASSERT_TRUE(image);
  ASSERT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(image->body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const std::string etag = image->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(image->get_header_value("Cache-Control"), "private, max-age=86400");

  httplib::Headers revalidate = Viewer();
  revalidate.emplace("If-None-Match", etag);
  const auto not_modified = client_->Get(SamplePath() + "/particles/12/image.png", revalidate);
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_TRUE(not_modified->body.empty());

  httplib::Headers stale = Viewer();
  stale.emplace("If-None-Match", "\"0000000000000000\"");
  const auto again = client_->Get(SamplePath() + "/particles/12/image.png", stale);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body, image->body);

  ExpectError(client_->Get(SamplePath() + "/particles/5000/image.png", Viewer()), 404, "not_found");
}

TEST_F(HttpTest, DownloadsArchivesThatOpen) {
  const auto refused = client_->Get(SamplePath() + "/dwca.zip", Viewer());
  ExpectError(refused, 422, "invalid_input");  // no location or date yet
  const auto patched = client_->Patch(
      SamplePath() + "/metadata",
      As(annotator_),
      R"({"latitude": 51.23, "longitude": 2.91, "sampled_at": "2025-04-10T08:00:00Z"})",
      "application/json");
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 200) << patched->body;

  const auto archive = client_->Get(SamplePath() + "/dwca.zip", Viewer());
  ASSERT_TRUE(archive);
  ASSERT_EQ(archive->status, 200) << archive->body;
  EXPECT_EQ(archive->get_header_value("Content-Type"), "application/zip");
  EXPECT_NE(archive->get_header_value("Content-Disposition").find("-dwca.zip"), std::string::npos);
  const fs::path dwca = testing_support::TestFolder() / "downloaded-dwca.zip";
  std::ofstream(dwca, std::ios::binary) << archive->body;
  std::set<std::string> names;
  for (const ZipEntry& entry : ReadZip(dwca)) {
    names.insert(entry.name);
  }
  for (const char* required : {"meta.xml", "eml.xml", "event.txt", "occurrence.txt"}) {
    EXPECT_TRUE(names.count(required)) << required << " missing from the archive";
  }
  fs::remove(dwca);

  const auto package = client_->Get(SamplePath() + "/ecotaxa.zip", Viewer());
  ASSERT_TRUE(package);
  ASSERT_EQ(package->status, 200) << package->body;
  const fs::path ecotaxa = testing_support::TestFolder() / "downloaded-ecotaxa.zip";
  std::ofstream(ecotaxa, std::ios::binary) << package->body;
  int64_t pngs = 0;
  bool tsv = false;
  for (const ZipEntry& entry : ReadZip(ecotaxa)) {
    pngs += entry.name.ends_with(".png") ? 1 : 0;
    tsv = tsv || entry.name == "ecotaxa_" + kExampleSampleId + ".tsv";
  }
  fs::remove(ecotaxa);
  int64_t with_image = 0;
  OpenSqliteStore(store_path_)
      ->ScanParticles(kExampleSampleId, {.images = true}, [&](const Particle& particle) {
        with_image += particle.image_png.empty() ? 0 : 1;
      });
  EXPECT_TRUE(tsv);
  EXPECT_EQ(pngs, with_image);  // one vignette per object with an image
  EXPECT_GT(pngs, 0);
  EXPECT_TRUE(NoLeftoversWithin(std::chrono::seconds(5))) << "temporary download left behind";
}

TEST_F(HttpTest, ServesTheCompositionReport) {
  const auto composition =
      client_->Get(SamplePath() + "/composition?validated_only=true", Viewer());
  ASSERT_TRUE(composition);
  ASSERT_EQ(composition->status, 200) << composition->body;
  const json report = json::parse(composition->body);
  EXPECT_EQ(report["totals"]["all"]["count"], 1000);
  EXPECT_EQ(report["label_counts"]["unlabelled"], 1000);  // no expert label yet
  EXPECT_EQ(report["validated_only"], true);
}

TEST_F(HttpTest, PredictsAnImageLikeDeepaas) {
  const fs::path jpeg = DemoImage("Noctilucales");
  const httplib::MultipartFormDataItems items = {
      {"image", FileText(jpeg), jpeg.filename().string(), "image/jpeg"}};
  const auto result = client_->Post("/v2/models/phytoflow/predict/", Viewer(), items);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["status"], "OK");
  EXPECT_EQ(body["predictions"]["filenames"], json::array({jpeg.filename().string()}));
  EXPECT_EQ(body["predictions"]["pred_lab"][0].size(), 5U);
  EXPECT_EQ(body["predictions"]["pred_prob"][0].size(), 5U);
  EXPECT_EQ(body["predictions"]["aphia_ids"][0].size(), 5U);

  const auto models = client_->Get("/v2/models/", Viewer());
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["models"][0]["id"], "phytoflow");
  const auto version = client_->Get("/v2/");
  ASSERT_TRUE(version);
  EXPECT_EQ(json::parse(version->body)["id"], "v2");
}

TEST_F(HttpTest, PredictsAZipOfImagesInArchiveOrder) {
  const fs::path zip = testing_support::TestFolder() / "upload-images.zip";
  WriteZip(
      zip,
      {{.name = "b/tripos.jpg", .bytes = ReadFileBytes(DemoImage("Tripos"), "image")},
       {.name = "__MACOSX/b/._tripos.jpg", .bytes = {0, 1, 2}},
       {.name = "a-ciliate.jpg", .bytes = ReadFileBytes(DemoImage("Ciliophora"), "image")},
       {.name = ".DS_Store", .bytes = {0}},
       {.name = "diatom.jpg", .bytes = ReadFileBytes(DemoImage("Bacillariophyceae"), "image")}});
  const httplib::MultipartFormDataItems items = {
      {"zip_data", FileText(zip), "images.zip", "application/zip"}};
  fs::remove(zip);
  const auto result = client_->Post("/v2/models/phytoflow/predict/", Viewer(), items);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json predictions = json::parse(result->body)["predictions"];
  // The three images, in archive order; macOS metadata and hidden files are skipped.
  EXPECT_EQ(predictions["filenames"], json::array({"b/tripos.jpg", "a-ciliate.jpg", "diatom.jpg"}));
  EXPECT_EQ(predictions["pred_lab"].size(), 3U);
  EXPECT_EQ(predictions["aphia_ids"].size(), 3U);
  EXPECT_TRUE(NoLeftoversWithin(std::chrono::seconds(5))) << "upload left behind";

  const httplib::MultipartFormDataItems not_zip = {
      {"zip_data", "this is no zip", "x.zip", "application/zip"}};
  const auto refused = client_->Post("/v2/models/phytoflow/predict/", Viewer(), not_zip);
  ExpectError(refused, 422, "invalid_input");
  EXPECT_EQ(json::parse(refused->body)["status"], "error");  // DEEPaaS clients read this
}

TEST_F(HttpTest, AnswersMalformedRequestsInTheErrorShape) {
  const std::string path = SamplePath() + "/metadata";
  ExpectError(
      client_->Patch(path, As(annotator_), "{not json", "application/json"), 400, "bad_request");
  ExpectError(client_->Patch(path, As(annotator_), "station=W08", "text/plain"),
              415,
              "unsupported_media_type");
  ExpectError(
      client_->Patch(path, As(annotator_), R"({"sampled_at": "11/04/2025"})", "application/json"),
      422,
      "invalid_input");
  ExpectError(client_->Post("/v2/models/phytoflow/predict/", Viewer(), "{}", "application/json"),
              415,
              "unsupported_media_type");
  // Larger than the server takes: the library's own 413, in our shape.
  ExpectError(
      client_->Patch(path, As(annotator_), std::string(kMaxBodyBytes + 1, ' '), "application/json"),
      413,
      "payload_too_large");
  // The store is unchanged by all of these.
  EXPECT_EQ(OpenSqliteStore(store_path_)->FindSample(kExampleSampleId)->metadata, SampleMetadata{});
}

// ---------------------------------------------------------------------------------------------
// Uploads

// A zip of the bundled example run, as a user would make it: "<run folder>/<file>".
std::string ExampleZipBytes() {
  const fs::path run = testing_support::ExampleRun();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(run)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<ZipEntry> entries;
  for (const fs::path& file : files) {
    entries.push_back({.name = run.filename().string() + "/" + file.filename().string(),
                       .bytes = ReadFileBytes(file, "example file")});
  }
  const fs::path zip = testing_support::TestFolder() / "example-upload.zip";
  if (!fs::exists(zip)) {
    WriteZip(zip, entries);
  }
  return FileText(zip);
}

// What the upload folder holds: nothing once every upload has been answered and its job ended
// (the adapter's part files and the jobs' input folders are all removed).
std::vector<std::string> UploadLeftovers(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST_F(HttpTest, UploadsAnExportWhoseJobIngestsIt) {
  // The example is stored already: take it out, so that the upload brings it back.
  ASSERT_TRUE(stores_.Acquire()->DeleteSample(kExampleSampleId));
  const httplib::MultipartFormDataItems items = {
      {"file", ExampleZipBytes(), "vicko-export.zip", "application/zip"},
      {"replace", "false", "", ""}};
  const auto uploaded = client_->Post("/api/v1/uploads", As(annotator_), items);
  ASSERT_TRUE(uploaded);
  ASSERT_EQ(uploaded->status, 202) << uploaded->body;
  const json job = json::parse(uploaded->body);
  EXPECT_EQ(job["kind"], "ingest");
  EXPECT_EQ(job["params"]["file"], "vicko-export.zip");
  const std::string location = uploaded->get_header_value("Location");
  EXPECT_EQ(location, "/api/v1/jobs/" + std::to_string(job["id"].get<int64_t>()));

  // Poll the job as a client would, until it has ended.
  json polled;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto result = client_->Get(location, Viewer());
    ASSERT_TRUE(result);
    polled = json::parse(result->body);
    if (polled["state"] != "queued" && polled["state"] != "running") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(polled["state"], "succeeded") << polled.dump();
  EXPECT_EQ(polled["result"]["samples"][0]["sample_id"], kExampleSampleId);
  EXPECT_EQ(polled["result"]["samples"][0]["outcome"], "ingested");
  EXPECT_EQ(polled["progress"]["fraction"], 1.0);  // 1000 of 1000 particles
  const auto log = client_->Get(location + "/log", Viewer());
  ASSERT_TRUE(log);
  EXPECT_NE(log->body.find("unpacked vicko-export.zip"), std::string::npos) << log->body;

  // The sample is served again (the sample list is re-read within a second).
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline && status != 200) {
    const auto sample = client_->Get(SamplePath(), Viewer());
    ASSERT_TRUE(sample);
    status = sample->status;
    if (status == 200) {
      EXPECT_EQ(json::parse(sample->body)["particles"], 1000);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{});
}

TEST_F(HttpTest, RefusesMalformedUploadsAndLeavesTheStoreAsItWas) {
  const auto samples_before = client_->Get("/api/v1/samples", Viewer());
  ASSERT_TRUE(samples_before);
  const auto upload = [&](const std::string& bytes, const std::string& name) {
    const httplib::MultipartFormDataItems items = {{"file", bytes, name, "application/zip"}};
    return client_->Post("/api/v1/uploads", As(annotator_), items);
  };
  const auto fixture = [](const std::string& name) {
    return FileText(fs::path("tests/data/zips") / name);
  };

  const auto not_zip = upload("these are notes, not a zip", "notes.zip");
  ExpectError(not_zip, 422, "invalid_input");
  EXPECT_NE(not_zip->body.find("notes.zip: not a readable zip archive"), std::string::npos)
      << not_zip->body;
  const auto traversal = upload(fixture("traversal.zip"), "traversal.zip");
  ExpectError(traversal, 422, "invalid_input");
  EXPECT_NE(traversal->body.find("entry '../evil.txt'"), std::string::npos) << traversal->body;
  const auto truncated = upload(fixture("truncated.zip"), "truncated.zip");
  ExpectError(truncated, 422, "invalid_input");
  EXPECT_NE(truncated->body.find("truncated.zip: not a readable zip archive"), std::string::npos)
      << truncated->body;
  // Its central directory declares 20,000,000,000 bytes: above the 16 GiB default.
  const auto huge = upload(fixture("huge_declared.zip"), "huge.zip");
  ExpectError(huge, 422, "invalid_input");
  EXPECT_NE(huge->body.find("entry 'run/huge.bin': the archive unpacks to more than"),
            std::string::npos)
      << huge->body;
  const auto bomb = upload(fixture("bomb.zip"), "bomb.zip");
  ExpectError(bomb, 422, "invalid_input");
  EXPECT_NE(bomb->body.find("expands 1028-fold"), std::string::npos) << bomb->body;

  // 8.5 MiB is over the 8 MiB the upload route takes: 413, read and dropped (an excess below
  // the server's 1 MiB drain, so that this client gets to read the answer).
  ExpectError(upload(std::string((size_t{17} << 19), 'z'), "big.zip"), 413, "payload_too_large");
  // The file field missing: 400; no token: 401; a viewer: 403.
  const httplib::MultipartFormDataItems no_file = {{"replace", "true", "", ""}};
  ExpectError(client_->Post("/api/v1/uploads", As(annotator_), no_file), 400, "bad_request");
  const httplib::MultipartFormDataItems good = {
      {"file", fixture("good.zip"), "good.zip", "application/zip"}};
  ExpectError(client_->Post("/api/v1/uploads", good), 401, "unauthorized");
  ExpectError(client_->Post("/api/v1/uploads", Viewer(), good), 403, "forbidden");

  // Nothing was stored, no job was made, and no file was left behind.
  const auto samples_after = client_->Get("/api/v1/samples", Viewer());
  ASSERT_TRUE(samples_after);
  EXPECT_EQ(samples_after->body, samples_before->body);
  const auto listed = client_->Get("/api/v1/jobs", Viewer());
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)["total"], 0);
  EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{});
}

TEST_F(HttpTest, OtherPathsKeepTheSmallBodyLimitEvenChunked) {
  // 1.5 MiB sent chunked (no Content-Length, so the library cannot refuse it up front) to a path
  // that takes 1 MiB: 413, and the connection still answers afterwards. (The excess stays below
  // the server's 1 MiB drain, as in StreamsUploadsToDiskWithinTheirLimit.)
  const size_t total = size_t{3} << 19;
  const auto result = client_->Patch(
      SamplePath() + "/metadata",
      As(annotator_),
      [total](size_t offset, httplib::DataSink& sink) {
        if (offset >= total) {
          sink.done();
          return true;
        }
        const std::string chunk(64 << 10, ' ');
        return sink.write(chunk.data(), chunk.size());
      },
      "application/json");
  ExpectError(result, 413, "payload_too_large");
  // A file part on a path that does not stream uploads stays within the small limit too.
  const httplib::MultipartFormDataItems big = {
      {"image", std::string((size_t{3} << 19), 'x'), "a.png", "image/png"}};  // 1.5 MiB
  ExpectError(
      client_->Post("/v2/models/phytoflow/predict/", Viewer(), big), 413, "payload_too_large");
  const auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A multipart body sent chunked: `head`, then `fill` bytes of 'z', then the closing boundary.
httplib::Result PostChunkedMultipart(httplib::Client& client,
                                     const httplib::Headers& headers,
                                     const std::string& head,
                                     size_t fill) {
  const std::string tail = "\r\n--b--\r\n";
  return client.Post(
      "/api/v1/uploads",
      headers,
      [head, tail, fill](size_t offset, httplib::DataSink& sink) {
        if (offset == 0) {
          return sink.write(head.data(), head.size());
        }
        const size_t written = offset - head.size();
        if (written < fill) {
          const std::string chunk(std::min<size_t>(64 << 10, fill - written), 'z');
          return sink.write(chunk.data(), chunk.size());
        }
        if (written == fill) {
          return sink.write(tail.data(), tail.size());
        }
        sink.done();
        return true;
      },
      "multipart/form-data; boundary=b");
}

TEST_F(HttpTest, StreamsUploadsToDiskWithinTheirLimit) {
  // 8.5 MiB of file part, chunked: counted while it is written to disk, refused past 8 MiB, and
  // the part file removed. The excess stays below the 1 MiB the server drains after a refusal:
  // beyond it the server closes while this client (which reads only once it has written the
  // whole body) still writes, and the client sees a write error instead of the 413 (that case
  // is tested on a raw socket below).
  const std::string file_head =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.zip\"\r\n"
      "Content-Type: application/zip\r\n\r\n";
  ExpectError(PostChunkedMultipart(*client_, As(annotator_), file_head, size_t{17} << 19),
              413,
              "payload_too_large");
  // A form field (kept in memory) may not exceed the small limit (1 MiB) even on this route.
  const std::string field_head = "--b\r\nContent-Disposition: form-data; name=\"replace\"\r\n\r\n";
  const auto field = PostChunkedMultipart(*client_, As(annotator_), field_head, size_t{3} << 19);
  ExpectError(field, 413, "payload_too_large");
  ASSERT_TRUE(field);
  EXPECT_NE(field->body.find("of form fields besides files"), std::string::npos) << field->body;
  EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{});
  const auto listed = client_->Get("/api/v1/jobs", Viewer());
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)["total"], 0);
}

TEST_F(HttpTest, LogsOneLinePerRequest) {
  ASSERT_TRUE(client_->Get("/api/v1/samples", Viewer()));
  ASSERT_TRUE(client_->Get("/nowhere"));
  // The line is written after the response, so it may come just after the client has it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(log_mutex_);
      if (log_.size() >= 2) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lock(log_mutex_);
  ASSERT_EQ(log_.size(), 2U);
  // "127.0.0.1 GET /api/v1/samples 200 <bytes>B <ms>ms"; the two threads may log in any order.
  std::sort(log_.begin(), log_.end());
  EXPECT_EQ(log_[0].rfind("127.0.0.1 GET /api/v1/samples 200 ", 0), 0U) << log_[0];
  EXPECT_NE(log_[0].find("ms"), std::string::npos);
  EXPECT_EQ(log_[1].rfind("127.0.0.1 GET /nowhere 404 ", 0), 0U) << log_[1];
}

TEST_F(HttpTest, StopLetsTheRequestInFlightFinish) {
  auto slow = std::async(std::launch::async, [&] { return client_->Get("/slow"); });
  slow_entered_.get_future().wait();
  server_->Stop();  // while /slow sleeps in its handler
  const auto result = slow.get();
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"({"slow": true})");
  serving_.join();
  serving_ = std::thread([] {});  // the destructor joins it
  httplib::Client late("127.0.0.1", port_);
  late.set_connection_timeout(1);
  EXPECT_FALSE(late.Get("/healthz"));  // no longer listening
}

// ---------------------------------------------------------------------------------------------
// Hardening: a client that writes bytes itself (a raw socket), as an attacker would.

class RawConnection {
 public:
  explicit RawConnection(int port) : socket_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = ::connect(socket_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    const timeval send_timeout{.tv_sec = 2, .tv_usec = 0};
    setsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  }
  ~RawConnection() { ::close(socket_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool Connected() const { return connected_; }
  // False once the server has closed the connection (or stopped reading for 2 s).
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(socket_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }
  // Everything the server sends until it closes the connection or is silent for `patience`.
  std::string ReceiveAll(std::chrono::seconds patience) {
    const timeval timeout{.tv_sec = static_cast<time_t>(patience.count()), .tv_usec = 0};
    setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string received;
    char buffer[4096];
    while (true) {
      const ssize_t got = ::recv(socket_, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        closed_ = got == 0 || errno == ECONNRESET;
        return received;
      }
      received.append(buffer, static_cast<size_t>(got));
    }
  }
  bool ClosedByServer() const { return closed_; }

 private:
  int socket_;
  bool connected_ = false;
  bool closed_ = false;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

TEST_F(HttpTest, RefusesAnAnonymousUploadBeforeStoringAnyOfIt) {
  // 512 KiB of file part, sent slowly without a token: the 401 is decided from the headers, so
  // no part file appears in the upload folder while the body arrives.
  const std::string part_head =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n\r\n";
  const std::string tail = "\r\n--b--\r\n";
  const size_t fill = size_t{512} << 10;
  const size_t length = part_head.size() + fill + tail.size();
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Connected());
  ASSERT_TRUE(
      connection.Send("POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
                      std::to_string(length) + "\r\n\r\n" + part_head));
  const std::string chunk(64 << 10, 'z');
  for (size_t sent = 0; sent < fill; sent += chunk.size()) {  // 8 chunks of 64 KiB
    ASSERT_TRUE(connection.Send(chunk));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{}) << "after " << sent;
  }
  ASSERT_TRUE(connection.Send(tail));
  const std::string response = connection.ReceiveAll(std::chrono::seconds(5));
  EXPECT_EQ(response.rfind("HTTP/1.1 401 ", 0), 0U) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  EXPECT_NE(response.find("X-Content-Type-Options: nosniff"), std::string::npos) << response;
  EXPECT_TRUE(connection.ClosedByServer());
  EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{});

  // A client that asks first (Expect: 100-continue) gets the 401 instead of "100 Continue".
  RawConnection asking(port_);
  ASSERT_TRUE(
      asking.Send("POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n"));
  const std::string answer = asking.ReceiveAll(std::chrono::seconds(5));
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0U) << answer;
  EXPECT_NE(answer.find("\"unauthorized\""), std::string::npos) << answer;
  EXPECT_TRUE(asking.ClosedByServer());
}

TEST_F(HttpTest, NeverReadsTheRestOfABrokenBodyAsANextRequest) {
  // A multipart body that does not start with its boundary: the parser gives up on the first
  // bytes. The rest of the body, a request of its own, must not be answered.
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string garbage(100, 'g');
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send(
      "POST /v2/models/phytoflow/predict/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      viewer_.secret + "\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
      std::to_string(garbage.size() + smuggled.size()) + "\r\n\r\n" + garbage));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server reads the garbage
  connection.Send(smuggled);  // may fail: the server may have closed already
  const std::string response = connection.ReceiveAll(std::chrono::seconds(3));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 ", 0), 0U) << response;
  EXPECT_EQ(Count(response, "HTTP/1.1 "), 1U) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  EXPECT_TRUE(connection.ClosedByServer());
}

TEST_F(HttpTest, StopsReadingAnOversizedChunkedBody) {
  // Chunks of 64 KiB, never ending, to a path that takes 1 MiB: the server reads at most 1 MiB
  // past the limit, answers 413 and closes; before, it read for as long as the client sent.
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send("PATCH " + SamplePath() +
                              "/metadata HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                              annotator_ +
                              "\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(size_t{64} << 10, ' ') + "\r\n";
  size_t sent = 0;
  while (sent < size_t{16} << 20 && connection.Send(chunk)) {  // 16 MiB at most
    sent += size_t{64} << 10;
  }
  const std::string response = connection.ReceiveAll(std::chrono::seconds(5));
  EXPECT_EQ(response.rfind("HTTP/1.1 413 ", 0), 0U) << response;
  EXPECT_TRUE(connection.ClosedByServer());
  // Of the 16 MiB, the server read 2 MiB (limit + drain) and the kernel buffers hold a few more.
  EXPECT_LT(sent, size_t{16} << 20);
}

TEST_F(HttpTest, CapsThePartsOfAMultipartBody) {
  // Three files in one upload: a part file each would be made; two are allowed.
  httplib::MultipartFormDataItems three_files;
  for (int idx = 0; idx < 3; ++idx) {
    three_files.push_back({"file", "PK", "f" + std::to_string(idx) + ".zip", "application/zip"});
  }
  const auto files = client_->Post("/api/v1/uploads", As(annotator_), three_files);
  ExpectError(files, 413, "payload_too_large");
  EXPECT_NE(files->body.find("at most 16 parts, 2 of them files"), std::string::npos)
      << files->body;
  // 17 small fields: over the 16 parts any body may have.
  httplib::MultipartFormDataItems fields;
  for (int idx = 0; idx < 17; ++idx) {
    fields.push_back({"field" + std::to_string(idx), "x", "", ""});
  }
  const auto many = client_->Post("/v2/models/phytoflow/predict/", Viewer(), fields);
  ExpectError(many, 413, "payload_too_large");
  EXPECT_NE(many->body.find("at most 16 parts"), std::string::npos) << many->body;
  EXPECT_EQ(UploadLeftovers(upload_dir_), std::vector<std::string>{});
  const auto listed = client_->Get("/api/v1/jobs", Viewer());
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)["total"], 0);
  // Every response says nosniff, not only the web UI's.
  EXPECT_EQ(listed->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(client_->Get("/nowhere")->get_header_value("X-Content-Type-Options"), "nosniff");
}

}  // namespace
}  // namespace phytoflow
