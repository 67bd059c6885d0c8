// The expert-validation routes (validations, history, undo) and model activation through
// Service::Handle, over a SQLite file store holding the bundled example: what is written and who
// signs it, what the listings show afterwards, requests that fail and write nothing, concurrent
// writers of one particle, and the active model surviving a restart.

#include "phytoflow/server/router.h"
#include "phytoflow/server/server_test_support.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <latch>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::kExampleSampleId;

json Body(const HttpResponse& response) {
  return json::parse(response.body);
}

HttpRequest Request(const std::string& method,
                    const std::string& path,
                    const std::string& token,
                    const std::string& body = "",
                    const std::string& content_type = "application/json") {
  HttpRequest request{.method = method, .path = path, .body = body};
  if (!token.empty()) {
    request.headers["authorization"] = "Bearer " + token;
  }
  if (!body.empty()) {
    request.headers["content-type"] = content_type;
  }
  return request;
}

// The error shape with this status and code.
void ExpectError(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  const json body = Body(response);
  ASSERT_TRUE(body.contains("error")) << response.body;
  EXPECT_EQ(body["error"]["code"], code) << response.body;
}

// Two models that differ in id and in one class: activation needs only their metadata. Model B
// also knows "Pygsuia", which the taxonomy does not.
ModelInfo FakeModelInfo(const fs::path& path) {
  const std::string stem = path.stem().string();  // "model-a" or "model-b"
  ModelInfo info{.id = stem + "-0123456789ab", .name = stem};
  for (const char* name : {"Ciliophora", "Bacillariophyceae", "Junk"}) {
    info.classes.push_back(ModelClass{.name = name});
  }
  if (stem == "model-b") {
    info.classes.push_back(ModelClass{.name = "Pygsuia"});
  }
  return info;
}
const std::string kModelA = "model-a-0123456789ab";
const std::string kModelB = "model-b-0123456789ab";

// `opened`, when given, records each model file whose classifier is opened.
ModelCatalog TwoModels(std::vector<fs::path>* opened = nullptr) {
  return ModelCatalog({"model-a.pt", "model-b.pt"}, FakeModelInfo, [opened](const fs::path& path) {
    if (opened != nullptr) {
      opened->push_back(path);
    }
    return std::make_unique<testing_support::TestClassifier>(FakeModelInfo(path));
  });
}

// A path in the test folder that does not exist yet.
fs::path FreshPath(const std::string& name) {
  const fs::path path = testing_support::TestFolder() / name;
  fs::remove(path);
  return path;
}

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// {"particles": [first, ..., last], "label": label}
std::string ValidationBody(int64_t first, int64_t last, const std::string& label) {
  json numbers = json::array();
  for (int64_t number = first; number <= last; ++number) {
    numbers.push_back(number);
  }
  return json{{"particles", numbers}, {"label", label}}.dump();
}

class ValidationRoutesTest : public ::testing::Test {
 protected:
  ValidationRoutesTest()
      : store_path_(testing_support::ExampleStoreCopy(TestName())),
        state_path_(FreshPath(TestName() + ".service.db")),
        // Eight connections: the concurrency tests write through eight at once.
        stores_([this] { return OpenSqliteStore(store_path_); }, 8),
        models_(TwoModels(&opened_)),
        state_(OpenSqliteServiceState(state_path_)),
        tokens_(*state_),
        viewer_(tokens_.Create("vera", Role::kViewer).secret),
        annotator_(tokens_.Create("anna", Role::kAnnotator).secret),
        admin_(tokens_.Create("ada", Role::kAdmin).secret),
        revoked_(RevokedToken()),
        service_(stores_, models_, &tokens_, Options()) {}

  static ServiceOptions Options() { return {.temp_dir = testing_support::TestFolder()}; }

  std::string RevokedToken() {
    const IssuedToken issued = tokens_.Create("rex", Role::kAnnotator);
    tokens_.Revoke(issued.token.id);
    return issued.secret;
  }

  std::string SamplePath() const { return "/api/v1/samples/" + kExampleSampleId; }
  std::string ParticlePath(int64_t number) const {
    return SamplePath() + "/particles/" + std::to_string(number);
  }

  HttpResponse Get(const std::string& path,
                   std::multimap<std::string, std::string> query = {},
                   const std::string& token = "") {
    HttpRequest request = Request("GET", path, token.empty() ? viewer_ : token);
    request.query = std::move(query);
    return service_.Handle(request);
  }
  HttpResponse Post(const std::string& path, const std::string& body, const std::string& token) {
    return service_.Handle(Request("POST", path, token, body));
  }
  HttpResponse Validate(const std::string& body, const std::string& token = "") {
    return Post(SamplePath() + "/validations", body, token.empty() ? annotator_ : token);
  }
  HttpResponse Undo(int64_t number, const std::string& body = "", const std::string& token = "") {
    return Post(ParticlePath(number) + "/undo", body, token.empty() ? annotator_ : token);
  }
  json History(int64_t number) {
    const HttpResponse response = Get(ParticlePath(number) + "/history");
    EXPECT_EQ(response.status, 200) << response.body;
    return Body(response);
  }
  // Every current label of the sample: equal before and after a request that wrote nothing.
  json Labels() { return Body(Get(SamplePath() + "/labels"))["labels"]; }

  // The history's expert entries.
  static std::vector<json> ExpertEntries(const json& history) {
    std::vector<json> entries;
    for (const json& entry : history["entries"]) {
      if (entry["label"]["source"] == "expert") {
        entries.push_back(entry);
      }
    }
    return entries;
  }

  fs::path store_path_;
  fs::path state_path_;
  StorePool stores_;
  std::vector<fs::path> opened_;  // model files whose classifier models_ opened
  ModelCatalog models_;
  std::unique_ptr<ServiceState> state_;
  TokenRegistry tokens_;
  std::string viewer_;
  std::string annotator_;
  std::string admin_;
  std::string revoked_;
  Service service_;
};

// ---------------------------------------------------------------------------------------------
// POST /validations

TEST_F(ValidationRoutesTest, ValidatesParticlesSignedWithTheTokenName) {
  // The taxonomy's spelling is stored: "bacillariophyceae" → "Bacillariophyceae".
  const HttpResponse response =
      Validate(R"({"particles": [9, 5, 6], "label": "bacillariophyceae"})");
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = Body(response);
  EXPECT_EQ(body["sample_id"], kExampleSampleId);
  ASSERT_EQ(body["events"].size(), 3U);
  const std::vector<int64_t> numbers = {5, 6, 9};  // by particle number
  int64_t previous_sequence = 0;
  for (size_t idx = 0; idx < 3; ++idx) {
    const json& event = body["events"][idx];
    EXPECT_EQ(event["particle_number"], numbers[idx]);
    EXPECT_EQ(event["name"], "Bacillariophyceae");
    EXPECT_EQ(event["source"], "expert");
    EXPECT_EQ(event["classification"], "phytoflow");
    EXPECT_EQ(event["author"], "anna");
    EXPECT_EQ(event["status"], "validated");
    EXPECT_TRUE(event["undoes"].is_null());
    EXPECT_GT(event["sequence"].get<int64_t>(), previous_sequence);
    previous_sequence = event["sequence"].get<int64_t>();
  }

  // The listing shows them at once (nothing cached holds labels).
  const json validated = Body(Get(SamplePath() + "/particles", {{"status", "validated"}}));
  EXPECT_EQ(validated["total"], 3);
  ASSERT_EQ(validated["particles"].size(), 3U);
  for (size_t idx = 0; idx < 3; ++idx) {
    const json& particle = validated["particles"][idx];
    EXPECT_EQ(particle["number"], numbers[idx]);
    EXPECT_EQ(particle["label"], "Bacillariophyceae");
    EXPECT_EQ(particle["status"], "validated");
    EXPECT_EQ(particle["identified_by"], "anna");
  }
  EXPECT_EQ(Body(Get(ParticlePath(6)))["label"], "Bacillariophyceae");

  // An admin may validate too, and signs with its own name.
  const HttpResponse by_admin = Validate(R"({"particles": [10], "label": "Tripos"})", admin_);
  ASSERT_EQ(by_admin.status, 200) << by_admin.body;
  EXPECT_EQ(Body(by_admin)["events"][0]["author"], "ada");
  EXPECT_EQ(Body(Get(ParticlePath(10)))["identified_by"], "ada");
}

TEST_F(ValidationRoutesTest, RelabelsInBulk) {
  ASSERT_EQ(Validate(ValidationBody(1, 100, "Ciliophora")).status, 200);
  const HttpResponse relabel = Validate(ValidationBody(1, 50, "Bacillariophyceae"));
  ASSERT_EQ(relabel.status, 200) << relabel.body;
  EXPECT_EQ(Body(relabel)["events"].size(), 50U);

  // 100 validated: 1-50 relabelled, 51-100 still Ciliophora.
  const json listed =
      Body(Get(SamplePath() + "/particles", {{"status", "validated"}, {"limit", "1000"}}));
  EXPECT_EQ(listed["total"], 100);
  ASSERT_EQ(listed["particles"].size(), 100U);
  for (const json& particle : listed["particles"]) {
    const int64_t number = particle["number"];
    EXPECT_EQ(particle["label"], number <= 50 ? "Bacillariophyceae" : "Ciliophora") << number;
  }
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"label", "Ciliophora"}}))["total"], 50);

  // The composition counts the same 50 + 50 validated particles.
  std::map<std::string, int64_t> validated;
  const json composition = Body(Get(SamplePath() + "/composition"));
  for (const json& taxon : composition["taxa"]) {
    validated[taxon["name"].get<std::string>()] = taxon["validated"].get<int64_t>();
  }
  EXPECT_EQ(validated["Ciliophora"], 50);
  EXPECT_EQ(validated["Bacillariophyceae"], 50);

  // Particle 25 has had both: the relabel is current, the first validation is history.
  const std::vector<json> entries = ExpertEntries(History(25));
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0]["label"]["name"], "Ciliophora");
  EXPECT_FALSE(entries[0]["current"]);
  EXPECT_EQ(entries[1]["label"]["name"], "Bacillariophyceae");
  EXPECT_TRUE(entries[1]["current"]);
}

TEST_F(ValidationRoutesTest, MarksParticlesDubious) {
  ASSERT_EQ(Validate(R"({"particles": [7], "label": "Ciliophora"})").status, 200);
  const HttpResponse dubious = Validate(R"({"particles": [7], "dubious": true})");
  ASSERT_EQ(dubious.status, 200) << dubious.body;
  const json event = Body(dubious)["events"][0];
  EXPECT_EQ(event["status"], "dubious");
  EXPECT_EQ(event["name"], "");

  // No longer validated; the example has no predictions, so it counts as unlabelled.
  const json history = History(7);
  EXPECT_EQ(history["resolved"]["status"], "unlabelled");
  EXPECT_TRUE(history["resolved"]["dubious"]);
  EXPECT_TRUE(history["resolved"]["label"].is_null());
  const std::vector<json> entries = ExpertEntries(history);
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[1]["kind"], "dubious");
  EXPECT_EQ(Body(Get(ParticlePath(7)))["status"], "unlabelled");
  EXPECT_EQ(Body(Get(SamplePath() + "/particles", {{"status", "validated"}}))["total"], 0);

  // Dubious with the class doubted.
  const HttpResponse doubted =
      Validate(R"({"particles": [11], "dubious": true, "label": "Tripos"})");
  ASSERT_EQ(doubted.status, 200) << doubted.body;
  EXPECT_EQ(Body(doubted)["events"][0]["name"], "Tripos");
  EXPECT_EQ(Body(doubted)["events"][0]["status"], "dubious");

  // The listing flags both and filters on the flag.
  const json flagged = Body(Get(SamplePath() + "/particles", {{"dubious", "true"}}));
  ASSERT_EQ(flagged["total"], 2);
  EXPECT_EQ(flagged["particles"][0]["number"], 7);
  EXPECT_EQ(flagged["particles"][1]["number"], 11);
  EXPECT_TRUE(flagged["particles"][0]["dubious"]);
  const json others = Body(Get(SamplePath() + "/particles", {{"dubious", "false"}}));
  EXPECT_EQ(others["total"], 1000 - 2);  // the bundled example has 1000 particles
  EXPECT_FALSE(others["particles"][0]["dubious"]);
}

// ---------------------------------------------------------------------------------------------
// History and undo

TEST_F(ValidationRoutesTest, ShowsTheHistoryAndUndoesTheNewestEvent) {
  // Particle 4 has a VisualSpreadsheet label (class Junk of the example's .cla).
  const json before = History(4);
  EXPECT_EQ(before["sample_id"], kExampleSampleId);
  EXPECT_EQ(before["particle_number"], 4);
  ASSERT_EQ(before["entries"].size(), 1U);
  EXPECT_EQ(before["entries"][0]["kind"], "label");
  EXPECT_EQ(before["entries"][0]["label"]["source"], "VisualSpreadsheet");
  EXPECT_EQ(before["entries"][0]["label"]["name"], "Junk");
  EXPECT_TRUE(before["entries"][0]["current"]);
  EXPECT_TRUE(before["newest_sequence"].is_null());

  const json first = Body(Validate(R"({"particles": [4], "label": "Ciliophora"})"));
  const json second = Body(Validate(R"({"particles": [4], "label": "Bacillariophyceae"})"));
  const int64_t s1 = first["events"][0]["sequence"];
  const int64_t s2 = second["events"][0]["sequence"];
  ASSERT_GT(s2, s1);

  const json validated = History(4);
  std::vector<std::string> kinds;
  std::vector<bool> current;
  for (const json& entry : validated["entries"]) {
    kinds.push_back(entry["kind"].get<std::string>());
    current.push_back(entry["current"].get<bool>());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"label", "validate", "validate"}));
  EXPECT_EQ(current, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(validated["newest_sequence"], s2);
  EXPECT_EQ(validated["resolved"]["label"], "Bacillariophyceae");
  EXPECT_EQ(validated["resolved"]["status"], "validated");
  EXPECT_EQ(validated["resolved"]["identified_by"], "anna");
  EXPECT_FALSE(validated["resolved"]["dubious"]);

  // Undo of s2 (what the user saw), by the admin: Ciliophora again.
  const HttpResponse undo = Undo(4, json{{"expected_sequence", s2}}.dump(), admin_);
  ASSERT_EQ(undo.status, 200) << undo.body;
  const json undo_event = Body(undo)["events"][0];
  EXPECT_EQ(undo_event["undoes"], s2);
  EXPECT_EQ(undo_event["name"], "Ciliophora");
  EXPECT_EQ(undo_event["status"], "validated");
  EXPECT_EQ(undo_event["author"], "ada");
  const int64_t s3 = undo_event["sequence"];
  EXPECT_GT(s3, s2);
  EXPECT_EQ(Body(Get(ParticlePath(4)))["label"], "Ciliophora");
  const json undone = History(4);
  EXPECT_EQ(undone["entries"].size(), 4U);
  EXPECT_EQ(undone["entries"][3]["kind"], "undo");
  EXPECT_EQ(undone["newest_sequence"], s3);
  EXPECT_EQ(undone["resolved"]["label"], "Ciliophora");

  // A stale expectation (s2 is no longer the newest) is a conflict and writes nothing.
  ExpectError(Undo(4, json{{"expected_sequence", s2}}.dump()), 409, "conflict");
  EXPECT_EQ(History(4)["entries"].size(), 4U);

  // Undoing the undo redoes: Bacillariophyceae again. No body: the newest, whatever it is.
  const HttpResponse redo = Undo(4);
  ASSERT_EQ(redo.status, 200) << redo.body;
  EXPECT_EQ(Body(redo)["events"][0]["undoes"], s3);
  EXPECT_EQ(Body(Get(ParticlePath(4)))["label"], "Bacillariophyceae");

  // A particle without expert events has nothing to undo.
  ExpectError(Undo(3), 409, "conflict");
}

TEST_F(ValidationRoutesTest, UndoOfTheOnlyEventWithdrawsIt) {
  ASSERT_EQ(Validate(R"({"particles": [20], "label": "Tripos"})").status, 200);
  const HttpResponse undo = Undo(20);
  ASSERT_EQ(undo.status, 200) << undo.body;
  EXPECT_EQ(Body(undo)["events"][0]["status"], "withdrawn");
  const json history = History(20);
  EXPECT_EQ(history["resolved"]["status"], "unlabelled");
  const std::vector<json> entries = ExpertEntries(history);
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0]["kind"], "validate");
  EXPECT_EQ(entries[1]["kind"], "undo");
  EXPECT_FALSE(entries[0]["current"]);
  EXPECT_FALSE(entries[1]["current"]);  // a withdrawn label is no current label
}

// ---------------------------------------------------------------------------------------------
// Refusals: nothing is written

TEST_F(ValidationRoutesTest, EditsNeedAnAnnotatorToken) {
  const json labels = Labels();
  const std::string body = R"({"particles": [5], "label": "Ciliophora"})";
  ExpectError(Validate(body, viewer_), 403, "forbidden");
  ExpectError(service_.Handle(Request("POST", SamplePath() + "/validations", "", body)),
              401,
              "unauthorized");
  ExpectError(Validate(body, revoked_), 401, "unauthorized");
  ExpectError(Undo(5, "", viewer_), 403, "forbidden");
  ExpectError(service_.Handle(Request("POST", ParticlePath(5) + "/undo", "")), 401, "unauthorized");
  EXPECT_EQ(Labels(), labels);

  // Reading the history needs a token (the service is not public-read), a viewer's will do.
  ExpectError(
      service_.Handle(Request("GET", ParticlePath(5) + "/history", "")), 401, "unauthorized");
  EXPECT_EQ(Get(ParticlePath(5) + "/history").status, 200);
}

TEST_F(ValidationRoutesTest, UnknownClassOrParticleWritesNothing) {
  const json labels = Labels();
  const HttpResponse unknown_class = Validate(R"({"particles": [5, 6], "label": "Notaclassus"})");
  ExpectError(unknown_class, 422, "invalid_input");
  EXPECT_NE(Body(unknown_class)["error"]["message"].get<std::string>().find("Notaclassus"),
            std::string::npos);
  // Particle 5 exists, 5000 not (the example has 1000): the whole batch is refused.
  const HttpResponse unknown_particle =
      Validate(R"({"particles": [5, 5000], "label": "Ciliophora"})");
  ExpectError(unknown_particle, 404, "not_found");
  EXPECT_NE(Body(unknown_particle)["error"]["message"].get<std::string>().find("5000"),
            std::string::npos);
  EXPECT_TRUE(ExpertEntries(History(5)).empty());
  EXPECT_TRUE(History(5)["newest_sequence"].is_null());
  EXPECT_EQ(Labels(), labels);

  ExpectError(Post("/api/v1/samples/no-such-sample/validations",
                   R"({"particles": [5], "label": "Ciliophora"})",
                   annotator_),
              404,
              "not_found");
  ExpectError(Get(ParticlePath(5000) + "/history"), 404, "not_found");
  ExpectError(Undo(5000), 404, "not_found");
  EXPECT_EQ(Labels(), labels);

  // A class that only a served model knows is known; another one needs allow_new_class.
  EXPECT_EQ(Validate(R"({"particles": [5], "label": "Pygsuia"})").status, 200);
  EXPECT_EQ(
      Validate(R"({"particles": [6], "label": "Novaclassis", "allow_new_class": true})").status,
      200);
  EXPECT_EQ(Body(Get(ParticlePath(6)))["label"], "Novaclassis");
}

TEST_F(ValidationRoutesTest, RefusesMalformedBodiesNamingTheField) {
  const json labels = Labels();
  // 400: not a body of the expected shape; the message names what is wrong.
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"not json", "JSON"},
      {"[5, 6]", "object"},
      {R"({"label": "Ciliophora"})", "particles"},
      {R"({"particles": "5", "label": "Ciliophora"})", "particles"},
      {R"({"particles": [5, "6"], "label": "Ciliophora"})", "particles[1]"},
      {R"({"particles": [5.5], "label": "Ciliophora"})", "particles[0]"},
      {R"({"particles": [-1], "label": "Ciliophora"})", "particles[0]"},
      {R"({"particles": [5], "label": 7})", "label"},
      {R"({"particles": [5], "label": "Ciliophora", "dubious": "yes"})", "dubious"},
      {R"({"particles": [5], "label": "Ciliophora", "allow_new_class": 1})", "allow_new_class"},
      {R"({"particles": [5], "lable": "Ciliophora"})", "lable"},
  };
  for (const auto& [body, named] : malformed) {
    const HttpResponse response = Validate(body);
    ExpectError(response, 400, "bad_request");
    EXPECT_NE(Body(response)["error"]["message"].get<std::string>().find(named), std::string::npos)
        << body << " → " << response.body;
  }
  ExpectError(service_.Handle(Request("POST",
                                      SamplePath() + "/validations",
                                      annotator_,
                                      R"({"particles": [5], "label": "Ciliophora"})",
                                      "text/plain")),
              415,
              "unsupported_media_type");

  // 422: well formed, but not a validation that can be made.
  ExpectError(Validate(R"({"particles": [], "label": "Ciliophora"})"), 422, "invalid_input");
  ExpectError(Validate(R"({"particles": [5]})"), 422, "invalid_input");  // no class, not dubious
  ExpectError(Validate(R"({"particles": [5], "label": "dubious"})"), 422, "invalid_input");
  const HttpResponse too_many = Validate(ValidationBody(1, 10'001, "Ciliophora"));
  ExpectError(too_many, 422, "invalid_input");
  EXPECT_NE(Body(too_many)["error"]["message"].get<std::string>().find("10000"), std::string::npos);

  // Undo bodies and particle numbers in the path.
  ExpectError(Undo(5, R"({"expected_sequence": "x"})"), 400, "bad_request");
  ExpectError(Undo(5, R"({"expected_sequence": 0})"), 400, "bad_request");
  ExpectError(Undo(5, R"({"expected": 3})"), 400, "bad_request");
  ExpectError(Get(SamplePath() + "/particles/abc/history"), 400, "bad_request");
  EXPECT_EQ(Labels(), labels);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_F(ValidationRoutesTest, ConcurrentValidationsOfOneParticleAllCountAndTheHighestWins) {
  const std::vector<std::string> classes = {"Bacillariophyceae",
                                            "Chaetoceros",
                                            "Coscinodiscus",
                                            "Ciliophora",
                                            "Tripos",
                                            "Dinophyceae",
                                            "Noctiluca",
                                            "Phaeocystis"};
  std::vector<HttpResponse> responses(classes.size());
  std::latch start(static_cast<std::ptrdiff_t>(classes.size()));
  {
    std::vector<std::jthread> threads;
    for (size_t idx = 0; idx < classes.size(); ++idx) {
      threads.emplace_back([&, idx] {
        const HttpRequest request =
            Request("POST",
                    SamplePath() + "/validations",
                    annotator_,
                    json{{"particles", json::array({42})}, {"label", classes[idx]}}.dump());
        start.arrive_and_wait();  // all eight at once
        responses[idx] = service_.Handle(request);
      });
    }
  }
  std::map<int64_t, std::string> written;  // sequence → class, from the responses
  for (size_t idx = 0; idx < classes.size(); ++idx) {
    ASSERT_EQ(responses[idx].status, 200) << classes[idx] << ": " << responses[idx].body;
    const json event = Body(responses[idx])["events"][0];
    EXPECT_EQ(event["name"], classes[idx]);
    written[event["sequence"].get<int64_t>()] = classes[idx];
  }
  EXPECT_EQ(written.size(), 8U);  // eight distinct sequences

  const json history = History(42);
  const std::vector<json> entries = ExpertEntries(history);
  ASSERT_EQ(entries.size(), 8U);
  std::map<int64_t, std::string> stored;
  for (const json& entry : entries) {
    EXPECT_EQ(entry["kind"], "validate");
    stored[entry["label"]["sequence"].get<int64_t>()] = entry["label"]["name"].get<std::string>();
  }
  EXPECT_EQ(stored, written);
  // The particle counts as the event with the highest sequence, for every reader.
  const std::string winner = written.rbegin()->second;
  EXPECT_EQ(history["resolved"]["label"], winner);
  EXPECT_EQ(history["newest_sequence"], written.rbegin()->first);
  EXPECT_EQ(Body(Get(ParticlePath(42)))["label"], winner);
}

TEST_F(ValidationRoutesTest, ConcurrentUndosOfTheSameEventOneWins) {
  ASSERT_EQ(Validate(R"({"particles": [43], "label": "Ciliophora"})").status, 200);
  const json newest = Body(Validate(R"({"particles": [43], "label": "Tripos"})"));
  const std::string body = json{{"expected_sequence", newest["events"][0]["sequence"]}}.dump();
  std::vector<int> statuses(2);
  std::latch start(2);
  {
    std::vector<std::jthread> threads;
    for (size_t idx = 0; idx < 2; ++idx) {
      threads.emplace_back([&, idx] {
        const HttpRequest request = Request("POST", ParticlePath(43) + "/undo", annotator_, body);
        start.arrive_and_wait();
        statuses[idx] = service_.Handle(request).status;
      });
    }
  }
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 409}));
  const json history = History(43);
  EXPECT_EQ(ExpertEntries(history).size(), 3U);  // two validations and one undo
  EXPECT_EQ(history["resolved"]["label"], "Ciliophora");
}

// ---------------------------------------------------------------------------------------------
// Model activation

std::map<std::string, bool> ActiveFlags(const json& list) {
  std::map<std::string, bool> flags;
  for (const json& model : list["models"]) {
    flags[model["id"].get<std::string>()] = model["active"].get<bool>();
  }
  return flags;
}

TEST_F(ValidationRoutesTest, ActivatesAModelAndRestoresItAfterARestart) {
  EXPECT_EQ(ActiveFlags(Body(Get("/api/v1/models"))),
            (std::map<std::string, bool>{{kModelA, true}, {kModelB, false}}));

  const HttpResponse activated = Post("/api/v1/models/" + kModelB + "/activate", "", admin_);
  ASSERT_EQ(activated.status, 200) << activated.body;
  EXPECT_EQ(Body(activated)["id"], kModelB);
  EXPECT_TRUE(Body(activated)["active"]);
  EXPECT_EQ(Body(activated)["classes"].size(), 4U);
  EXPECT_EQ(ActiveFlags(Body(Get("/api/v1/models"))),
            (std::map<std::string, bool>{{kModelA, false}, {kModelB, true}}));
  EXPECT_FALSE(Body(Get("/api/v1/models/" + kModelA))["active"]);
  EXPECT_TRUE(Body(Get("/api/v1/models/" + kModelB))["active"]);
  EXPECT_EQ(Body(Get("/v2/models/phytoflow/"))["model_id"], kModelB);
  EXPECT_EQ(state_->Setting(kActiveModelSetting), kModelB);

  // Refusals change nothing.
  ExpectError(Post("/api/v1/models/no-such-model/activate", "", admin_), 404, "not_found");
  ExpectError(Post("/api/v1/models/" + kModelA + "/activate", "", annotator_), 403, "forbidden");
  ExpectError(Post("/api/v1/models/" + kModelA + "/activate", "", viewer_), 403, "forbidden");
  ExpectError(service_.Handle(Request("POST", "/api/v1/models/" + kModelA + "/activate", "")),
              401,
              "unauthorized");
  EXPECT_EQ(models_.Active()->info.id, kModelB);
  EXPECT_EQ(state_->Setting(kActiveModelSetting), kModelB);

  // A restart: a new catalog (A first again) and a new service over the same state file.
  ModelCatalog restarted_models = TwoModels();
  ASSERT_EQ(restarted_models.Active()->info.id, kModelA);
  const std::unique_ptr<ServiceState> restarted_state = OpenSqliteServiceState(state_path_);
  TokenRegistry restarted_tokens(*restarted_state);
  const Service restarted(stores_, restarted_models, &restarted_tokens, Options());
  EXPECT_EQ(restarted_models.Active()->info.id, kModelB);
  EXPECT_EQ(ActiveFlags(Body(restarted.Handle(Request("GET", "/api/v1/models", viewer_)))),
            (std::map<std::string, bool>{{kModelA, false}, {kModelB, true}}));
}

TEST_F(ValidationRoutesTest, RestoreKeepsTheFirstModelWhenTheRememberedOneIsGone) {
  state_->SetSetting(kActiveModelSetting, "retired-model-0123456789ab");
  ModelCatalog restarted_models = TwoModels();
  ::testing::internal::CaptureStderr();
  const Service restarted(stores_, restarted_models, &tokens_, Options());
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("warning"), std::string::npos) << log;
  EXPECT_NE(log.find("retired-model-0123456789ab"), std::string::npos) << log;
  EXPECT_NE(log.find(kModelA), std::string::npos) << log;
  EXPECT_EQ(restarted_models.Active()->info.id, kModelA);
  // The choice is kept, to be restored once that model is served again.
  EXPECT_EQ(state_->Setting(kActiveModelSetting), "retired-model-0123456789ab");

  // Without a service state there is nothing to restore.
  ModelCatalog stateless_models = TwoModels();
  state_->SetSetting(kActiveModelSetting, kModelB);
  const Service stateless(stores_, stateless_models, nullptr, Options());
  EXPECT_EQ(stateless_models.Active()->info.id, kModelA);
}

// The first image of the VLIZ demo set's Tripos folder.
fs::path DemoImage() {
  std::vector<fs::path> files;
  for (const auto& entry :
       fs::directory_iterator("../shared/data/labeled/flowcam_vliz_demo_6class/Tripos")) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files.at(0);
}

TEST_F(ValidationRoutesTest, PredictionsUseTheClassifierOfTheActiveModel) {
  const std::string image = [] {
    std::ifstream in(DemoImage(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  ASSERT_FALSE(image.empty());
  const auto predict = [&] {
    HttpRequest request = Request("POST", "/v2/models/phytoflow/predict/", viewer_);
    request.headers["content-type"] = "multipart/form-data; boundary=x";
    request.parts.push_back(UploadedPart{.name = "image", .filename = "a.jpg", .content = image});
    const HttpResponse response = service_.Handle(request);
    EXPECT_EQ(response.status, 200) << response.body;
    return Body(response)["predictions"]["pred_lab"][0].size();
  };
  // Model A has 3 classes, B 4: the top 5 lists every class of the model that predicts.
  EXPECT_EQ(predict(), 3U);
  EXPECT_EQ(opened_, (std::vector<fs::path>{"model-a.pt"}));
  ASSERT_EQ(Post("/api/v1/models/" + kModelB + "/activate", "", admin_).status, 200);
  EXPECT_EQ(predict(), 4U);
  EXPECT_EQ(predict(), 4U);  // opened once
  EXPECT_EQ(opened_, (std::vector<fs::path>{"model-a.pt", "model-b.pt"}));
}

}  // namespace
}  // namespace phytoflow
