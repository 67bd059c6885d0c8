// The service without a socket: accounts (SHA-256, tokens, roles), the router (matching, auth,
// the error shape), the settings, and every endpoint's handler over a SQLite store holding the
// bundled example. The same over loopback HTTP is http_test.cpp.

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/decode.h"
#include "phytoflow/imaging/file_bytes.h"
#include "phytoflow/server/accounts.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/particle_image_cache.h"
#include "phytoflow/server/router.h"
#include "phytoflow/server/serve_config.h"
#include "phytoflow/server/server_test_support.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

using nlohmann::json;
using testing_support::kExampleSampleId;

json Body(const HttpResponse& response) {
  return json::parse(response.body);
}

HttpRequest Request(const std::string& method,
                    const std::string& path,
                    std::multimap<std::string, std::string> query = {},
                    const std::string& token = "") {
  HttpRequest request{.method = method, .path = path, .query = std::move(query)};
  if (!token.empty()) {
    request.headers["authorization"] = "Bearer " + token;
  }
  return request;
}

// The error shape: {"error": {"code", "message", "status"}} with the response's status.
void ExpectError(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  const json body = Body(response);
  ASSERT_TRUE(body.contains("error")) << response.body;
  EXPECT_EQ(body["error"]["status"], status);
  EXPECT_EQ(body["error"]["code"], code) << response.body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

// ---------------------------------------------------------------------------------------------
// Accounts

TEST(Sha256Hex, MatchesTheFips180_4Vectors) {
  // FIPS 180-4 / NIST CSRC example values for SHA-256.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(NewTokenSecret, IsPrefixedHexOf32FreshBytes) {
  const std::string first = NewTokenSecret();
  const std::string second = NewTokenSecret();
  ASSERT_EQ(first.size(), 4U + 64U);  // "pft_" + 2 hex digits per byte
  EXPECT_EQ(first.substr(0, 4), "pft_");
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(first, second);
}

TEST(RoleAllows, OrdersViewerAnnotatorAdmin) {
  EXPECT_TRUE(RoleAllows(Role::kViewer, Role::kViewer));
  EXPECT_FALSE(RoleAllows(Role::kViewer, Role::kAnnotator));
  EXPECT_TRUE(RoleAllows(Role::kAnnotator, Role::kViewer));
  EXPECT_FALSE(RoleAllows(Role::kAnnotator, Role::kAdmin));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kAnnotator));
  EXPECT_EQ(ParseRole("annotator"), Role::kAnnotator);
  EXPECT_FALSE(ParseRole("root").has_value());
}

TEST(TokenRegistry, StoresOnlyTheHashAndAuthenticates) {
  auto state = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens(*state, [] { return std::string("2026-01-01T00:00:00Z"); });
  const IssuedToken issued = tokens.Create("alice", Role::kAnnotator);
  EXPECT_EQ(issued.token.secret_sha256, Sha256Hex(issued.secret));
  EXPECT_EQ(state->Tokens()[0].secret_sha256, Sha256Hex(issued.secret));
  EXPECT_EQ(issued.token.created_at, "2026-01-01T00:00:00Z");

  const Authentication valid = tokens.Authenticate(issued.secret);
  EXPECT_EQ(valid.outcome, Authentication::Outcome::kValid);
  EXPECT_EQ(valid.token.name, "alice");
  EXPECT_EQ(tokens.Authenticate("pft_" + std::string(64, '0')).outcome,
            Authentication::Outcome::kUnknown);

  EXPECT_TRUE(tokens.Revoke(issued.token.id));
  EXPECT_FALSE(tokens.Revoke(issued.token.id + 1));
  EXPECT_EQ(tokens.Authenticate(issued.secret).outcome, Authentication::Outcome::kRevoked);
}

TEST(TokenRegistry, RecordsLastUseAtMostOncePerMinute) {
  auto state = OpenSqliteServiceState(":memory:");
  std::string now = "2026-01-01T10:00:00Z";
  TokenRegistry tokens(*state, [&now] { return now; });
  const IssuedToken issued = tokens.Create("bot", Role::kViewer);
  EXPECT_TRUE(state->Tokens()[0].last_used_at.empty());
  tokens.Authenticate(issued.secret);
  EXPECT_EQ(state->Tokens()[0].last_used_at, "2026-01-01T10:00:00Z");
  now = "2026-01-01T10:00:05Z";  // the clock moves, but less than a minute of real time passes
  tokens.Authenticate(issued.secret);
  EXPECT_EQ(state->Tokens()[0].last_used_at, "2026-01-01T10:00:00Z");
}

TEST(TokenRegistry, RefusesBadNames) {
  auto state = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens(*state);
  for (const std::string& name : {std::string(), std::string(101, 'x'), std::string("a\nb")}) {
    try {
      tokens.Create(name, Role::kViewer);
      FAIL() << "accepted the name '" << name << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    }
  }
  EXPECT_TRUE(state->Tokens().empty());
}

// ---------------------------------------------------------------------------------------------
// Router

HttpResponse Echo(const HttpRequest& request, const RequestContext& context) {
  json body = {{"params", request.path_params}};
  body["token"] = context.token ? json(context.token->name) : json(nullptr);
  return JsonResponse(body.dump());
}

TEST(Router, MatchesPathParametersSegmentBySegment) {
  Router router(nullptr, /*public_read=*/true);
  router.Add("GET", "/api/v1/samples/{id}/particles/{number}", Access::kRead, Echo);
  router.Add("GET", "/v2/models/", Access::kRead, Echo);

  const HttpResponse found = router.Handle(Request("GET", "/api/v1/samples/run-1/particles/42"));
  EXPECT_EQ(found.status, 200);
  EXPECT_EQ(Body(found)["params"], json({{"id", "run-1"}, {"number", "42"}}));

  ExpectError(router.Handle(Request("GET", "/api/v1/samples/run-1/particles")), 404, "not_found");
  ExpectError(router.Handle(Request("GET", "/api/v1/samples//particles/42")), 404, "not_found");
  ExpectError(
      router.Handle(Request("GET", "/api/v1/samples/run-1/particles/42/x")), 404, "not_found");
  // A trailing slash is part of the route.
  EXPECT_EQ(router.Handle(Request("GET", "/v2/models/")).status, 200);
  ExpectError(router.Handle(Request("GET", "/v2/models")), 404, "not_found");
}

TEST(Router, Answers405WithAllowAndHeadAsGet) {
  Router router(nullptr, /*public_read=*/true);
  router.Add("GET", "/things/{id}", Access::kRead, Echo);
  router.Add("PATCH", "/things/{id}", Access::kRead, Echo);
  const HttpResponse response = router.Handle(Request("DELETE", "/things/7"));
  ExpectError(response, 405, "method_not_allowed");
  EXPECT_EQ(response.Header("allow"), "GET, PATCH");
  EXPECT_EQ(router.Handle(Request("HEAD", "/things/7")).status, 200);
}

class RouterAuthTest : public ::testing::Test {
 protected:
  RouterAuthTest() : tokens_(*state_) {
    viewer_ = tokens_.Create("vera", Role::kViewer).secret;
    annotator_ = tokens_.Create("anna", Role::kAnnotator).secret;
    const IssuedToken revoked = tokens_.Create("rex", Role::kAdmin);
    revoked_ = revoked.secret;
    tokens_.Revoke(revoked.token.id);
  }

  Router MakeRouter(bool public_read) {
    Router router(&tokens_, public_read);
    router.Add("GET", "/health", Access::kPublic, Echo);
    router.Add("GET", "/data", Access::kRead, Echo);
    router.Add("PATCH", "/data", Access::kAnnotator, Echo);
    router.Add("POST", "/admin", Access::kAdmin, Echo);
    return router;
  }

  std::unique_ptr<ServiceState> state_ = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens_;
  std::string viewer_;
  std::string annotator_;
  std::string revoked_;
};

TEST_F(RouterAuthTest, NeedsATokenOfTheRightRole) {
  Router router = MakeRouter(/*public_read=*/false);
  EXPECT_EQ(router.Handle(Request("GET", "/health")).status, 200);

  const HttpResponse missing = router.Handle(Request("GET", "/data"));
  ExpectError(missing, 401, "unauthorized");
  EXPECT_EQ(missing.Header("WWW-Authenticate"), "Bearer realm=\"phytoflow\"");

  const HttpResponse read = router.Handle(Request("GET", "/data", {}, viewer_));
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(Body(read)["token"], "vera");

  ExpectError(router.Handle(Request("PATCH", "/data", {}, viewer_)), 403, "forbidden");
  EXPECT_EQ(router.Handle(Request("PATCH", "/data", {}, annotator_)).status, 200);
  ExpectError(router.Handle(Request("POST", "/admin", {}, annotator_)), 403, "forbidden");

  const HttpResponse revoked = router.Handle(Request("GET", "/data", {}, revoked_));
  ExpectError(revoked, 401, "unauthorized");
  EXPECT_NE(Body(revoked)["error"]["message"].get<std::string>().find("revoked"),
            std::string::npos);
  ExpectError(router.Handle(Request("GET", "/data", {}, "pft_nonsense")), 401, "unauthorized");

  HttpRequest basic = Request("GET", "/data");
  basic.headers["authorization"] = "Basic dXNlcjpwYXNz";
  ExpectError(router.Handle(basic), 401, "unauthorized");
}

TEST_F(RouterAuthTest, PublicReadOpensReadsButNotWritesNorBadTokens) {
  Router router = MakeRouter(/*public_read=*/true);
  EXPECT_EQ(router.Handle(Request("GET", "/data")).status, 200);
  ExpectError(router.Handle(Request("PATCH", "/data")), 401, "unauthorized");
  // A credential that is given must be good, even where none is needed.
  ExpectError(router.Handle(Request("GET", "/data", {}, revoked_)), 401, "unauthorized");
  ExpectError(router.Handle(Request("GET", "/health", {}, "pft_wrong")), 401, "unauthorized");
}

TEST(Router, MapsEveryFailureToTheJsonShape) {
  Router router(nullptr, /*public_read=*/true);
  const std::map<std::string, std::pair<ErrorCode, int>> cases = {
      {"invalid", {ErrorCode::kInvalidInput, 422}},
      {"missing", {ErrorCode::kNotFound, 404}},
      {"conflict", {ErrorCode::kConflict, 409}},
      {"unavailable", {ErrorCode::kUnavailable, 503}},
      {"internal", {ErrorCode::kInternal, 500}},
  };
  for (const auto& [path, code] : cases) {
    router.Add("GET",
               "/" + path,
               Access::kRead,
               [code = code.first](const HttpRequest&, const RequestContext&) -> HttpResponse {
                 throw Error(code, "failed on purpose");
               });
  }
  router.Add("GET",
             "/media",
             Access::kRead,
             [](const HttpRequest&, const RequestContext&) -> HttpResponse {
               throw UnsupportedMediaType("expected JSON");
             });
  router.Add("GET",
             "/crash",
             Access::kRead,
             [](const HttpRequest&, const RequestContext&) -> HttpResponse {
               throw std::runtime_error("a bug");
             });
  router.Add(
      "POST",
      "/v2/predict/",
      Access::kRead,
      [](const HttpRequest&, const RequestContext&) -> HttpResponse {
        throw BadRequest("no image");
      },
      ErrorStyle::kDeepaas);

  for (const auto& [path, code] : cases) {
    ExpectError(router.Handle(Request("GET", "/" + path)),
                code.second,
                std::string(ErrorCodeName(code.first)));
  }
  ExpectError(router.Handle(Request("GET", "/media")), 415, "unsupported_media_type");
  ExpectError(router.Handle(Request("GET", "/crash")), 500, "internal");

  const HttpResponse deepaas = router.Handle(Request("POST", "/v2/predict/"));
  ExpectError(deepaas, 400, "bad_request");
  EXPECT_EQ(Body(deepaas)["status"], "error");
  EXPECT_EQ(Body(deepaas)["message"], "no image");
}

// ---------------------------------------------------------------------------------------------
// Settings

TEST(ServeSettings, FlagsBeatEnvironmentBeatFileBeatDefaults) {
  const SettingValues file = SettingsFromJson(
      R"({"port": 9000, "public_read": true, "threads": 8, "models": ["a.pt", "b.pt"],
          "host": "0.0.0.0"})",
      "serve.json");
  const std::map<std::string, std::string> environment = {
      {"PHYTOFLOW_PORT", "9100"}, {"PHYTOFLOW_THREADS", "16"}, {"PHYTOFLOW_STORE", "env.db"}};
  const SettingValues from_environment =
      SettingsFromEnvironment([&](const char* name) -> const char* {
        const auto found = environment.find(name);
        return found == environment.end() ? nullptr : found->second.c_str();
      });
  const SettingValues flags = {{"port", "9200"}, {"model", "c.pt"}};

  const ServeSettings settings = ResolveServeSettings({file, from_environment, flags});
  EXPECT_EQ(settings.port, 9200);                                // flag
  EXPECT_EQ(settings.threads, 16);                               // environment over file
  EXPECT_EQ(settings.store, "env.db");                           // environment over default
  EXPECT_TRUE(settings.public_read);                             // file over default
  EXPECT_EQ(settings.host, "0.0.0.0");                           // file
  EXPECT_EQ(settings.models, std::vector<std::string>{"c.pt"});  // flags replace the file's list
  EXPECT_EQ(settings.store_connections, 4);                      // default

  const ServeSettings defaults = ResolveServeSettings({});
  EXPECT_EQ(defaults.host, "127.0.0.1");
  EXPECT_EQ(defaults.port, 8080);
  EXPECT_FALSE(defaults.public_read);
}

TEST(ServeSettings, RejectsBadValuesNamingTheKey) {
  const auto expect_invalid = [](const std::vector<SettingValues>& sources,
                                 const std::string& word) {
    try {
      ResolveServeSettings(sources);
      FAIL() << "accepted " << word;
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      EXPECT_NE(std::string(error.what()).find(word), std::string::npos) << error.what();
    }
  };
  expect_invalid({{{"port", "80000"}}}, "port");
  expect_invalid({{{"port", "8o8o"}}}, "port");
  expect_invalid({{{"threads", "0"}}}, "threads");
  expect_invalid({{{"public_read", "maybe"}}}, "public_read");
  for (const std::string text : {"{", "[1]", R"({"prot": 1})", R"({"port": [1]})"}) {
    try {
      SettingsFromJson(text, "serve.json");
      FAIL() << "accepted " << text;
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      EXPECT_NE(std::string(error.what()).find("serve.json"), std::string::npos);
    }
  }
}

TEST(ServiceStatePath, BesideASqliteStoreAndRequiredForMongo) {
  EXPECT_EQ(ServiceStatePath("data/phytoflow.db", ""), "data/phytoflow.db.service.db");
  EXPECT_EQ(ServiceStatePath("sqlite:x.db", ""), "x.db.service.db");
  EXPECT_EQ(ServiceStatePath("mongodb://h:27017/db", "state.db"), "state.db");
  EXPECT_THROW(ServiceStatePath("mongodb://h:27017/db", ""), Error);
}

// ---------------------------------------------------------------------------------------------
// Endpoints over the bundled example

// A JPEG of the VLIZ demo set: the first image of `class_name`.
std::filesystem::path FirstImageOf(const std::string& class_name) {
  const std::filesystem::path folder =
      std::filesystem::path("../shared/data/labeled/flowcam_vliz_demo_6class") / class_name;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files.at(0);
}

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest()
      : store_path_(testing_support::ExampleStoreCopy(
            ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        stores_([this] { return OpenSqliteStore(store_path_); }, 2),
        models_(testing_support::TestModels()),
        tokens_(*state_),
        viewer_(tokens_.Create("vera", Role::kViewer).secret),
        annotator_(tokens_.Create("anna", Role::kAnnotator).secret),
        admin_(tokens_.Create("ada", Role::kAdmin).secret),
        service_(stores_, models_, &tokens_, {.temp_dir = testing_support::TestFolder()}) {}

  HttpResponse Get(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    return service_.Handle(Request("GET", path, std::move(query), viewer_));
  }

  HttpResponse Patch(const std::string& path,
                     const std::string& body,
                     const std::string& token,
                     const std::string& content_type = "application/json") {
    HttpRequest request = Request("PATCH", path, {}, token);
    request.headers["content-type"] = content_type;
    request.body = body;
    return service_.Handle(request);
  }

  // Stores model predictions for particles 1..10 (Junk with p = 0.9, top-2 Junk/Protist) and one
  // expert label on particle 3, as classify and a validation would.
  void StoreLabels() {
    auto store = OpenSqliteStore(store_path_);
    std::vector<Label> predictions;
    for (int64_t number = 1; number <= 10; ++number) {
      predictions.push_back(Label{.particle_number = number,
                                  .name = number == 10 ? "uncertain" : "Junk",
                                  .source = kLabelSourceModel,
                                  .classification = "m-1",
                                  .author = "test",
                                  .created_at = "2026-01-01T00:00:00Z",
                                  .probability = 0.9,
                                  .top_k = {{"Junk", 0.9}, {"Protist", 0.1}}});
    }
    store->ReplaceLabels(kExampleSampleId, kLabelSourceModel, "m-1", predictions);
    const Label expert{.particle_number = 3,
                       .name = "Protist",
                       .source = kLabelSourceExpert,
                       .classification = "lab",
                       .author = "anna",
                       .created_at = "2026-01-02T00:00:00Z"};
    store->AppendExpertLabels(kExampleSampleId, {&expert, 1});
  }

  std::string SamplePath() const { return "/api/v1/samples/" + kExampleSampleId; }

  std::filesystem::path store_path_;
  StorePool stores_;
  ModelCatalog models_;
  std::unique_ptr<ServiceState> state_ = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens_;
  std::string viewer_;
  std::string annotator_;
  std::string admin_;
  Service service_;
};

TEST_F(ServiceTest, ListsSamplesWithFiltersAndPagination) {
  const json all = Body(Get("/api/v1/samples"));
  EXPECT_EQ(all["total"], 1);
  EXPECT_EQ(all["limit"], 50);
  ASSERT_EQ(all["samples"].size(), 1U);
  EXPECT_EQ(all["samples"][0]["sample_id"], kExampleSampleId);
  EXPECT_EQ(all["samples"][0]["particles"], 1000);
  EXPECT_EQ(all["samples"][0]["url"], SamplePath());

  EXPECT_EQ(Body(Get("/api/v1/samples", {{"q", "PYGSUIA"}}))["total"], 1);  // case-insensitive
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"q", "nothing-like-it"}}))["total"], 0);
  // The run started on 2025-04-11 (UTC): "to" on that day includes it, "from" the day after not.
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"from", "2025-04-11"}, {"to", "2025-04-11"}}))["total"],
            1);
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"from", "2025-04-12"}}))["total"], 0);
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"to", "2025-04-10"}}))["total"], 0);

  const json beyond = Body(Get("/api/v1/samples", {{"offset", "1"}}));
  EXPECT_EQ(beyond["total"], 1);
  EXPECT_TRUE(beyond["samples"].empty());

  ExpectError(Get("/api/v1/samples", {{"limit", "0"}}), 400, "bad_request");
  ExpectError(Get("/api/v1/samples", {{"limit", "abc"}}), 400, "bad_request");
  ExpectError(Get("/api/v1/samples", {{"from", "yesterday"}}), 400, "bad_request");
}

TEST_F(ServiceTest, ShowsASampleAsShowJsonDoes) {
  const HttpResponse response = Get(SamplePath());
  ASSERT_EQ(response.status, 200) << response.body;
  const json sample = Body(response);
  // The values tests/cli/cli_test.sh checks for `show --json`.
  EXPECT_EQ(sample["particles"], 1000);
  EXPECT_EQ(sample["volume_imaged_ml"], 0.1418);
  EXPECT_EQ(sample["calibration_um_per_px"], 0.5544);
  EXPECT_EQ(sample["labels"][0]["source"], "VisualSpreadsheet");
  EXPECT_EQ(sample["labels"][0]["classes"], json({{"Junk", 87}, {"protist", 2}}));
  EXPECT_TRUE(sample["metadata"].is_object());
  ExpectError(Get("/api/v1/samples/no-such-sample"), 404, "not_found");
}

TEST_F(ServiceTest, ListsParticlesWithResolvedLabelsFiltersAndPages) {
  StoreLabels();
  const json first = Body(Get(SamplePath() + "/particles", {{"limit", "5"}, {"offset", "1"}}));
  EXPECT_EQ(first["total"], 1000);
  EXPECT_EQ(first["model_id"], "m-1");
  ASSERT_EQ(first["particles"].size(), 5U);
  // offset 1 starts at the second particle: numbers 2..6.
  EXPECT_EQ(first["particles"][0]["number"], 2);
  EXPECT_EQ(first["particles"][4]["number"], 6);
  const json& second = first["particles"][0];
  EXPECT_EQ(second["label"], "Junk");
  EXPECT_EQ(second["status"], "predicted");
  EXPECT_EQ(second["probability"], 0.9);
  EXPECT_EQ(
      second["top_k"],
      json::parse(R"([{"name":"Junk","probability":0.9},{"name":"Protist","probability":0.1}])"));
  EXPECT_EQ(second["image_url"], SamplePath() + "/particles/2/image.png");
  EXPECT_EQ(first["particles"][1]["status"], "validated");  // particle 3: the expert wins
  EXPECT_EQ(first["particles"][1]["label"], "Protist");

  // 10 model labels: 9 Junk predictions, one "uncertain"; particle 3 validated: 8 predicted.
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"status", "predicted"}}))["total"], 8);
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"status", "validated"}}))["total"], 1);
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"status", "uncertain"}}))["total"], 1);
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"status", "unlabelled"}}))["total"], 990);
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"label", "Junk"}}))["total"], 8);
  // Only validated labels count: the 9 predictions are unlabelled then.
  EXPECT_EQ(Body(Get(SamplePath() + "/particles",
                     {{"status", "unlabelled"}, {"validated_only", "true"}}))["total"],
            999);

  // Size filters: the expected count comes from a scan of the store itself.
  int64_t at_least_10um = 0;
  int64_t from_5_to_10um = 0;
  OpenSqliteStore(store_path_)->ScanParticles(kExampleSampleId, {}, [&](const Particle& particle) {
    at_least_10um += particle.esd_um >= 10.0 ? 1 : 0;
    from_5_to_10um += particle.esd_um >= 5.0 && particle.esd_um <= 10.0 ? 1 : 0;
  });
  ASSERT_GT(at_least_10um, 0);
  ASSERT_GT(from_5_to_10um, 0);
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"min_esd_um", "10"}}))["total"], at_least_10um);
  EXPECT_EQ(
      Body(Get(SamplePath() + "/particles", {{"min_esd_um", "5"}, {"max_esd_um", "10"}}))["total"],
      from_5_to_10um);

  ExpectError(Get(SamplePath() + "/particles", {{"status", "dubious"}}), 400, "bad_request");
  ExpectError(Get(SamplePath() + "/particles", {{"min_esd_um", "big"}}), 400, "bad_request");
  ExpectError(Get(SamplePath() + "/particles", {{"limit", "1001"}}), 400, "bad_request");
  ExpectError(Get("/api/v1/samples/nope/particles"), 404, "not_found");
}

TEST_F(ServiceTest, ShowsOneParticleWithMeasurementsAndEveryLabel) {
  StoreLabels();
  const HttpResponse response = Get(SamplePath() + "/particles/3");
  ASSERT_EQ(response.status, 200) << response.body;
  const json particle = Body(response);
  EXPECT_EQ(particle["number"], 3);
  EXPECT_EQ(particle["status"], "validated");
  // The VisualSpreadsheet label (if any), the prediction and the expert label: every source.
  std::set<std::string> sources;
  for (const json& label : particle["labels"]) {
    sources.insert(label["source"].get<std::string>());
  }
  EXPECT_TRUE(sources.count("model"));
  EXPECT_TRUE(sources.count("expert"));
  EXPECT_TRUE(particle["measurements"].is_object());
  EXPECT_FALSE(particle["measurements"].empty());
  ExpectError(Get(SamplePath() + "/particles/100000"), 404, "not_found");
  ExpectError(Get(SamplePath() + "/particles/three"), 400, "bad_request");
}

TEST_F(ServiceTest, ServesStoredImagesWithEntityTags) {
  std::string stored_image;
  std::string stored_mask;
  OpenSqliteStore(store_path_)
      ->ScanParticles(kExampleSampleId, {.images = true}, [&](const Particle& particle) {
        if (particle.number == 7) {
          stored_image.assign(particle.image_png.begin(), particle.image_png.end());
          stored_mask.assign(particle.mask_png.begin(), particle.mask_png.end());
        }
      });
  ASSERT_FALSE(stored_image.empty());

  const HttpResponse image = Get(SamplePath() + "/particles/7/image.png");
  ASSERT_EQ(image.status, 200) << image.body;
  EXPECT_EQ(image.content_type, "image/png");
  EXPECT_EQ(image.body, stored_image);
  EXPECT_EQ(image.Header("ETag"), EntityTag(stored_image));
  EXPECT_EQ(image.Header("Cache-Control"), "private, max-age=86400");

  HttpRequest again = Request("GET", SamplePath() + "/particles/7/image.png", {}, viewer_);
  again.headers["if-none-match"] = image.Header("ETag");
  const HttpResponse not_modified = service_.Handle(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  const HttpResponse mask = Get(SamplePath() + "/particles/7/mask.png");
  ASSERT_EQ(mask.status, 200);
  EXPECT_EQ(mask.body, stored_mask);
  EXPECT_NE(mask.Header("ETag"), image.Header("ETag"));

  ExpectError(Get(SamplePath() + "/particles/1001/image.png"), 404, "not_found");
  ExpectError(Get("/api/v1/samples/nope/particles/1/image.png"), 404, "not_found");
}

TEST(EntityTag, IsTheQuotedFnv1aHash) {
  // FNV-1a 64 of "" is the offset basis, of "a" 0xaf63dc4c8601ec8c (published test values).
  EXPECT_EQ(EntityTag(""), "\"cbf29ce484222325\"");
  EXPECT_EQ(EntityTag("a"), "\"af63dc4c8601ec8c\"");
}

TEST_F(ServiceTest, ListsEveryLabel) {
  StoreLabels();
  const json labels = Body(Get(SamplePath() + "/labels"));
  // 89 VisualSpreadsheet labels (cli_test.sh), 10 predictions and 1 expert label.
  EXPECT_EQ(labels["labels"].size(), 100U);
  ExpectError(Get("/api/v1/samples/nope/labels"), 404, "not_found");
}

TEST_F(ServiceTest, PatchesMetadataForAnnotatorsOnly) {
  const std::string path = SamplePath() + "/metadata";
  ExpectError(Patch(path, R"({"station": "W08"})", viewer_), 403, "forbidden");
  ExpectError(Patch(path, R"({"station": "W08"})", ""), 401, "unauthorized");
  ExpectError(Patch(path, R"({"station": )", annotator_), 400, "bad_request");
  ExpectError(Patch(path, R"(["station"])", annotator_), 400, "bad_request");
  ExpectError(Patch(path, "station=W08", annotator_, "application/x-www-form-urlencoded"),
              415,
              "unsupported_media_type");
  ExpectError(Patch(path, R"({"latitude": 123})", annotator_), 422, "invalid_input");
  ExpectError(Patch(path, R"({"no_such_key": 1})", annotator_), 422, "invalid_input");
  ExpectError(Patch("/api/v1/samples/nope/metadata", R"({"station": "W08"})", annotator_),
              404,
              "not_found");
  EXPECT_EQ(OpenSqliteStore(store_path_)->FindSample(kExampleSampleId)->metadata, SampleMetadata{});

  const HttpResponse response =
      Patch(path,
            R"({"station": "W08", "latitude": 51.5, "longitude": 3.25, "sampled_at": "2025-04-10",
          "environment": {"chl_ug_per_l": 2}})",
            annotator_);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Body(response)["metadata"]["station"], "W08");
  EXPECT_EQ(Body(response)["metadata"]["environment"]["chl_ug_per_l"], 2.0);
  const SampleMetadata stored =
      OpenSqliteStore(store_path_)->FindSample(kExampleSampleId)->metadata;
  EXPECT_EQ(stored.latitude, 51.5);
  EXPECT_EQ(stored.sampled_at, "2025-04-10");

  // The list sees it at once (the server's own write), and its dates now come from sampled_at.
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"q", "w08"}}))["total"], 1);
  EXPECT_EQ(Body(Get("/api/v1/samples", {{"to", "2025-04-10"}}))["total"], 1);
  // null clears a key.
  EXPECT_EQ(Body(Patch(path, R"({"station": null})", annotator_))["metadata"]["station"], nullptr);
}

TEST_F(ServiceTest, ComposesAsReportJsonDoes) {
  StoreLabels();
  const HttpResponse response = Get(SamplePath() + "/composition");
  ASSERT_EQ(response.status, 200) << response.body;
  const json composition = Body(response);
  EXPECT_EQ(composition["sample_id"], kExampleSampleId);
  EXPECT_EQ(composition["model_id"], "m-1");
  EXPECT_EQ(composition["carbon_equation"], "all-sizes");
  EXPECT_EQ(composition["totals"]["all"]["count"], 1000);
  EXPECT_EQ(composition["label_counts"],
            json({{"validated", 1}, {"predicted", 8}, {"uncertain", 1}, {"unlabelled", 990}}));
  // The test model is not m-1, and has no confusion matrix: a warning says so.
  EXPECT_FALSE(composition["warnings"].empty());

  const json validated =
      Body(Get(SamplePath() + "/composition", {{"validated_only", "true"}, {"carbon", "switch"}}));
  EXPECT_EQ(validated["validated_only"], true);
  EXPECT_EQ(validated["carbon_equation"], "switch");
  EXPECT_EQ(validated["label_counts"]["predicted"], 0);
  ExpectError(Get(SamplePath() + "/composition", {{"carbon", "some"}}), 400, "bad_request");
  ExpectError(Get("/api/v1/samples/nope/composition"), 404, "not_found");
}

TEST_F(ServiceTest, RefusesDarwinCoreWithoutLocationAndSendsItAfterwards) {
  // OBIS needs latitude, longitude and a date: 422 names what is missing.
  ExpectError(Get(SamplePath() + "/dwca.zip"), 422, "invalid_input");
  ASSERT_EQ(Patch(SamplePath() + "/metadata",
                  R"({"latitude": 51.5, "longitude": 3.25, "sampled_at": "2025-04-10"})",
                  annotator_)
                .status,
            200);
  const HttpResponse archive = Get(SamplePath() + "/dwca.zip");
  ASSERT_EQ(archive.status, 200) << archive.body;
  EXPECT_EQ(archive.content_type, "application/zip");
  ASSERT_TRUE(archive.file.has_value());
  EXPECT_TRUE(archive.remove_file_after);
  EXPECT_GT(archive.BodyBytes(), 0U);
  EXPECT_NE(archive.Header("Content-Disposition").find(kExampleSampleId + "-dwca.zip"),
            std::string::npos);
  EXPECT_NE(archive.Header("X-Phytoflow-Warnings").find("placeholder"), std::string::npos);
  std::filesystem::remove(*archive.file);
}

TEST_F(ServiceTest, ListsModelsWithTheirClasses) {
  const json models = Body(Get("/api/v1/models"));
  ASSERT_EQ(models["models"].size(), 1U);
  const json& model = models["models"][0];
  EXPECT_EQ(model["id"], "test-model-0123456789ab");
  EXPECT_EQ(model["active"], true);
  EXPECT_EQ(model["classes"].size(), testing_support::kTestClasses.size());
  EXPECT_EQ(model["classes"][2]["aphia_id"], 999011);
  EXPECT_EQ(model["validation"], nullptr);  // no training report
  EXPECT_EQ(Get("/api/v1/models/test-model-0123456789ab").status, 200);
  ExpectError(Get("/api/v1/models/other"), 404, "not_found");
}

TEST_F(ServiceTest, PredictsAnImageInThePlanktonclasShape) {
  const std::filesystem::path jpeg = FirstImageOf("Tripos");
  const std::vector<uint8_t> bytes = ReadFileBytes(jpeg, "image file");
  HttpRequest request = Request("POST", "/v2/models/phytoflow/predict/", {}, viewer_);
  request.headers["content-type"] = "multipart/form-data; boundary=x";
  request.parts.push_back(UploadedPart{.name = "image",
                                       .filename = jpeg.filename().string(),
                                       .content = std::string(bytes.begin(), bytes.end())});
  const HttpResponse response = service_.Handle(request);
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = Body(response);
  EXPECT_EQ(body["status"], "OK");
  const json& predictions = body["predictions"];
  EXPECT_EQ(predictions["filenames"], json::array({jpeg.filename().string()}));
  ASSERT_EQ(predictions["pred_lab"].size(), 1U);
  ASSERT_EQ(predictions["pred_lab"][0].size(), 5U);
  ASSERT_EQ(predictions["pred_prob"][0].size(), 5U);
  ASSERT_EQ(predictions["aphia_ids"][0].size(), 5U);
  // The test classifier's best class is the one whose centre is nearest the mean grey value.
  const double mean = testing_support::MeanGrey(DecodeImage(bytes, jpeg.string()));
  size_t nearest = 0;
  for (size_t idx = 1; idx < testing_support::kTestClasses.size(); ++idx) {
    if (std::abs(mean - testing_support::TestClassCentre(idx)) <
        std::abs(mean - testing_support::TestClassCentre(nearest))) {
      nearest = idx;
    }
  }
  EXPECT_EQ(predictions["pred_lab"][0][0], testing_support::kTestClasses[nearest]);
  for (size_t rank = 1; rank < 5; ++rank) {
    EXPECT_GE(predictions["pred_prob"][0][rank - 1].get<double>(),
              predictions["pred_prob"][0][rank].get<double>());
  }
  // AphiaIDs: the model's own first (Ciliophora 999011), else the taxonomy's (Tripos 494057,
  // Dinoflagellata 146203, Noctilucales 19542), null for Junk.
  const std::map<std::string, json> expected_aphia = {{"Ciliophora", 999011},
                                                      {"Tripos", 494057},
                                                      {"Dinoflagellata", 146203},
                                                      {"Noctilucales", 19542},
                                                      {"Junk", nullptr},
                                                      {"Bacillariophyceae", 148899},
                                                      {"Actinoptychus", 148899}};
  for (size_t rank = 0; rank < 5; ++rank) {
    const std::string name = predictions["pred_lab"][0][rank];
    EXPECT_EQ(predictions["aphia_ids"][0][rank], expected_aphia.at(name)) << name;
  }
}

// Zip bombs and pixel bombs are refused before they are unpacked or decoded, with messages that
// name what the client sent.
TEST_F(ServiceTest, PredictRefusesZipAndPixelBombs) {
  const auto predict = [this](const std::string& field, const std::string& content) {
    HttpRequest request = Request("POST", "/v2/models/phytoflow/predict/", {}, viewer_);
    request.headers["content-type"] = "multipart/form-data; boundary=x";
    request.parts.push_back(UploadedPart{.name = field, .filename = "x", .content = content});
    return service_.Handle(request);
  };
  const auto message = [](const HttpResponse& response) {
    return Body(response)["error"]["message"].get<std::string>();
  };
  // tests/data/zips/bomb.zip: 20 MiB of zeros in 20,387 bytes (1028-fold), refused from the
  // zip's directory by CheckZip, not unpacked.
  const std::vector<uint8_t> bomb = ReadFileBytes("tests/data/zips/bomb.zip", "zip");
  const HttpResponse zip_bomb = predict("zip_data", std::string(bomb.begin(), bomb.end()));
  ExpectError(zip_bomb, 422, "invalid_input");
  EXPECT_NE(message(zip_bomb).find("zip_data: entry 'zeros.bin': expands 1028-fold"),
            std::string::npos)
      << message(zip_bomb);
  // A real vignette whose SOF0 frame header claims 20000 x 20000 = 400,000,000 pixels, ten
  // times the limit of 40,000,000.
  std::vector<uint8_t> jpeg = ReadFileBytes(FirstImageOf("Tripos"), "image file");
  for (size_t pos = 2; pos + 9 < jpeg.size(); ++pos) {
    if (jpeg[pos] == 0xff && jpeg[pos + 1] == 0xc0) {
      jpeg[pos + 5] = jpeg[pos + 7] = 20000 >> 8;
      jpeg[pos + 6] = jpeg[pos + 8] = 20000 & 0xff;
      break;
    }
  }
  const HttpResponse pixel_bomb = predict("image", std::string(jpeg.begin(), jpeg.end()));
  ExpectError(pixel_bomb, 422, "invalid_input");
  EXPECT_NE(message(pixel_bomb).find("x: JPEG claims 20000x20000 pixels"), std::string::npos)
      << message(pixel_bomb);
}

// The OpenAPI document and the router describe the same routes: every registered route is
// documented with its method, every documented operation is registered, each operation's
// happy path answers with a status the document lists, and the documented 401/403 follow the
// route's access rule.
TEST_F(ServiceTest, OpenApiDocumentsEveryRouteAndItsHappyPath) {
  StoreLabels();
  ASSERT_EQ(Patch(SamplePath() + "/metadata",
                  R"({"latitude": 51.5, "longitude": 3.25, "sampled_at": "2025-04-10"})",
                  annotator_)
                .status,
            200);
  const json document = json::parse(OpenApiDocument());
  ASSERT_EQ(document["openapi"], "3.0.3");

  std::set<std::string> registered;
  for (const Route& route : service_.Routes().Routes()) {
    registered.insert(route.method + " " + route.pattern);
  }
  std::set<std::string> documented;
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      documented.insert(upper + " " + path);
    }
  }
  EXPECT_EQ(registered, documented);

  // One request per route that should succeed.
  const std::string particle = SamplePath() + "/particles/7";
  const std::vector<uint8_t> image = ReadFileBytes(FirstImageOf("Tripos"), "image file");
  HttpRequest predict = Request("POST", "/v2/models/phytoflow/predict/", {}, viewer_);
  predict.headers["content-type"] = "multipart/form-data; boundary=x";
  predict.parts.push_back(UploadedPart{
      .name = "image", .filename = "a.jpg", .content = std::string(image.begin(), image.end())});
  HttpRequest patch = Request("PATCH", SamplePath() + "/metadata", {}, annotator_);
  patch.headers["content-type"] = "application/json";
  patch.body = R"({"station": "W08"})";
  HttpRequest validate = Request("POST", SamplePath() + "/validations", {}, annotator_);
  validate.headers["content-type"] = "application/json";
  validate.body = R"({"particles": [7], "label": "Ciliophora"})";
  HttpRequest cached = Request("GET", particle + "/image.png", {}, viewer_);
  cached.headers["if-none-match"] = Get(particle + "/image.png").Header("ETag");
  HttpRequest cached_mask = Request("GET", particle + "/mask.png", {}, viewer_);
  cached_mask.headers["if-none-match"] = Get(particle + "/mask.png").Header("ETag");
  // A second request for a file of the web UI that sends back its ETag (304).
  const auto revalidated = [this](const std::string& path) {
    HttpRequest request = Request("GET", path);
    request.headers["if-none-match"] = service_.Handle(Request("GET", path)).Header("ETag");
    return request;
  };
  const std::map<std::string, std::vector<HttpRequest>> happy = {
      {"GET /healthz", {Request("GET", "/healthz")}},
      {"GET /readyz", {Request("GET", "/readyz")}},
      {"GET /api/v1/openapi.json", {Request("GET", "/api/v1/openapi.json")}},
      {"GET /", {Request("GET", "/"), revalidated("/")}},
      {"GET /ui/{file}", {Request("GET", "/ui/app.js"), revalidated("/ui/app.js")}},
      {"GET /ui/pages/{file}",
       {Request("GET", "/ui/pages/gallery.js"), revalidated("/ui/pages/gallery.js")}},
      {"GET /docs", {Request("GET", "/docs")}},
      {"GET /docs/{file}", {Request("GET", "/docs/index.md"), revalidated("/docs/index.md")}},
      {"GET /docs/{dir}/{file}",
       {Request("GET", "/docs/tutorials/04-ospar-indicators.md"),
        revalidated("/docs/tutorials/04-ospar-indicators.md")}},
      {"GET /docs/{dir}/{sub}/{file}",
       {Request("GET", "/docs/images/web/samples.png"),
        revalidated("/docs/images/web/samples.png")}},
      {"GET /api/v1/samples", {Request("GET", "/api/v1/samples", {}, viewer_)}},
      {"GET /api/v1/samples/{id}", {Request("GET", SamplePath(), {}, viewer_)}},
      {"PATCH /api/v1/samples/{id}/metadata", {patch}},
      {"GET /api/v1/samples/{id}/particles",
       {Request("GET", SamplePath() + "/particles", {}, viewer_)}},
      {"GET /api/v1/samples/{id}/particles/{number}", {Request("GET", particle, {}, viewer_)}},
      {"GET /api/v1/samples/{id}/particles/{number}/image.png",
       {Request("GET", particle + "/image.png", {}, viewer_), cached}},
      {"GET /api/v1/samples/{id}/particles/{number}/mask.png",
       {Request("GET", particle + "/mask.png", {}, viewer_), cached_mask}},
      {"GET /api/v1/samples/{id}/labels", {Request("GET", SamplePath() + "/labels", {}, viewer_)}},
      {"GET /api/v1/samples/{id}/composition",
       {Request("GET", SamplePath() + "/composition", {}, viewer_)}},
      {"GET /api/v1/samples/{id}/dwca.zip",
       {Request("GET", SamplePath() + "/dwca.zip", {}, viewer_)}},
      {"GET /api/v1/samples/{id}/ecotaxa.zip",
       {Request("GET", SamplePath() + "/ecotaxa.zip", {}, viewer_)}},
      {"GET /api/v1/models", {Request("GET", "/api/v1/models", {}, viewer_)}},
      {"GET /api/v1/models/{id}",
       {Request("GET", "/api/v1/models/test-model-0123456789ab", {}, viewer_)}},
      {"GET /v2/", {Request("GET", "/v2/")}},
      {"GET /v2/models/", {Request("GET", "/v2/models/", {}, viewer_)}},
      {"GET /v2/models/phytoflow/", {Request("GET", "/v2/models/phytoflow/", {}, viewer_)}},
      {"POST /v2/models/phytoflow/predict/", {predict}},
      {"POST /api/v1/models/{id}/activate",
       {Request("POST", "/api/v1/models/test-model-0123456789ab/activate", {}, admin_)}},
      {"POST /api/v1/samples/{id}/validations", {validate}},
      {"GET /api/v1/samples/{id}/particles/{number}/history",
       {Request("GET", particle + "/history", {}, viewer_)}},
      // Particle 3 has the expert label of StoreLabels().
      {"POST /api/v1/samples/{id}/particles/{number}/undo",
       {Request("POST", SamplePath() + "/particles/3/undo", {}, annotator_)}},
      {"GET /api/v1/indicators/{kind}",
       {Request("GET", "/api/v1/indicators/series", {{"value", "cells"}}, viewer_),
        Request("GET",
                "/api/v1/indicators/ph3",
                {{"value", "cells"}, {"permutations", "0"}, {"format", "svg"}},
                viewer_)}},
  };
  for (const Route& route : service_.Routes().Routes()) {
    const std::string key = route.method + " " + route.pattern;
    if (route.pattern == "/api/v1/uploads" || route.pattern.rfind("/api/v1/jobs", 0) == 0) {
      continue;  // job_test.cpp (JobRoutesTest.OpenApiDocumentsTheJobRoutes) runs these
    }
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    const json& operation = document["paths"][route.pattern][method];
    const json& responses = operation["responses"];
    const auto requests = happy.find(key);
    ASSERT_NE(requests, happy.end()) << key << " has no happy-path request in this test";
    std::set<int> produced;
    for (const HttpRequest& request : requests->second) {
      const HttpResponse response = service_.Handle(request);
      produced.insert(response.status);
      EXPECT_TRUE(responses.contains(std::to_string(response.status)))
          << key << " answered " << response.status
          << ", which the document does not list: " << response.body.substr(0, 300);
      if (response.file) {
        std::filesystem::remove(*response.file);
      }
    }
    // Every documented success status is what some happy path produced.
    for (const auto& [status, ignored] : responses.items()) {
      if (status[0] == '2' || status[0] == '3') {
        EXPECT_TRUE(produced.count(std::stoi(status)))
            << key << " documents " << status << " but its happy path never gives it";
      }
    }
    EXPECT_EQ(responses.contains("401"), route.access != Access::kPublic) << key;
    EXPECT_EQ(responses.contains("403"),
              route.access == Access::kAnnotator || route.access == Access::kAdmin)
        << key;
  }
}

TEST_F(ServiceTest, RefusesMalformedPredictRequests) {
  HttpRequest json_body = Request("POST", "/v2/models/phytoflow/predict/", {}, viewer_);
  json_body.headers["content-type"] = "application/json";
  const HttpResponse wrong_type = service_.Handle(json_body);
  ExpectError(wrong_type, 415, "unsupported_media_type");
  EXPECT_EQ(Body(wrong_type)["status"], "error");

  HttpRequest empty = Request("POST", "/v2/models/phytoflow/predict/", {}, viewer_);
  empty.headers["content-type"] = "multipart/form-data; boundary=x";
  ExpectError(service_.Handle(empty), 400, "bad_request");

  HttpRequest not_an_image = empty;
  not_an_image.parts.push_back(
      UploadedPart{.name = "image", .filename = "notes.txt", .content = "hello"});
  const HttpResponse refused = service_.Handle(not_an_image);
  ExpectError(refused, 422, "invalid_input");
  EXPECT_NE(Body(refused)["message"].get<std::string>().find("notes.txt"), std::string::npos);
}

}  // namespace
}  // namespace phytoflow
