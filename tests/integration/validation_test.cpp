// Expert validation through the app layer (app/validation.h), on a SQLite file store and on
// MongoDB: setting a class, dubious, bulk relabel all or nothing, undo and redo, the history, and
// concurrent validations of one particle from several store handles (as several processes or
// HTTP workers would make them), which must all be kept and resolve to the same winner.

#include "phytoflow/app/validation.h"

#include "phytoflow/core/error.h"
#include "phytoflow/products/composition.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"
#ifdef PHYTOFLOW_WITH_MONGO
#include "phytoflow/storage/mongo/mongo_store.h"
#endif

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/synthetic_export.h"
#include <gtest/gtest.h>
#ifdef PHYTOFLOW_WITH_MONGO
#include "testing/mongo_test_server.h"
#endif

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  // Opens the store of `scratch`; a second call opens a second handle on the same store.
  std::function<std::unique_ptr<Store>(const fs::path& scratch)> open;
  // Removes what `open` made outside `scratch`, after every handle is closed.
  std::function<void(const fs::path& scratch)> remove;
};

void PrintTo(const Backend& backend, std::ostream* out) {
  *out << backend.name;
}

constexpr int64_t kParticles = 10;
const std::string kModel = "m-1";

// Sample "s" with particles 1..10 and predictions of model m-1: "Dolichospermum" for odd
// numbers, "uncertain" for even ones, with "ModelOnlyClass" second in every top-k.
void WriteSample(Store& store) {
  Sample sample;
  sample.id = "s";
  sample.fingerprint = "fp-s";
  sample.ingested_at = "2024-01-01T00:00:00Z";
  sample.particle_count = kParticles;
  std::vector<Particle> particles;
  std::vector<Label> predictions;
  for (int64_t number = 1; number <= kParticles; ++number) {
    Particle particle;
    particle.number = number;
    particle.esd_um = 10.0;
    particles.push_back(particle);
    const std::string name = number % 2 == 1 ? "Dolichospermum" : kUncertainLabel;
    predictions.push_back(Label{.particle_number = number,
                                .name = name,
                                .source = kLabelSourceModel,
                                .classification = kModel,
                                .author = "phytoflow",
                                .created_at = "2024-01-02T00:00:00Z",
                                .probability = 0.5,
                                .top_k = {{"Dolichospermum", 0.5}, {"ModelOnlyClass", 0.3}}});
  }
  std::unique_ptr<SampleWriter> writer = store.BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(particles);
  writer->Commit(sample);
  store.ReplaceLabels("s", kLabelSourceModel, kModel, predictions);
}

// What particle `number` counts as now, as the composition report resolves it.
ResolvedLabel Resolved(const Store& store, int64_t number) {
  const std::vector<int64_t> numbers = {number};
  return ResolveLabels(numbers, store.Labels("s"), {}).at(0);
}

int64_t ExpertEventCount(const Store& store, int64_t number) {
  const std::vector<Label> history = store.LabelHistory("s", number);
  return std::count_if(history.begin(), history.end(), [](const Label& label) {
    return label.source == kLabelSourceExpert;
  });
}

void ExpectError(ErrorCode code, const std::function<void()>& action) {
  try {
    action();
    ADD_FAILURE() << "expected Error " << ErrorCodeName(code) << ", nothing was thrown";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
  }
}

class Validation : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(scratch_.Path());
    WriteSample(*store_);
  }
  void TearDown() override {
    store_.reset();
    if (GetParam().remove) {
      GetParam().remove(scratch_.Path());
    }
  }

  fixtures::TempDir scratch_;
  std::unique_ptr<Store> store_;
};

TEST_P(Validation, SetsAClassThatTheReportCountsAsValidated) {
  const ValidationReport report = ValidateParticles(
      *store_, "s", {.particle_numbers = {3, 1, 2, 3}, .label = "bacillariophyceae"}, "Jane Doe");
  // Repeated numbers count once; the class takes the taxonomy's spelling.
  ASSERT_EQ(report.events.size(), 3u);
  EXPECT_EQ(report.sample_id, "s");
  for (size_t index = 0; index < report.events.size(); ++index) {
    const Label& event = report.events[index];
    EXPECT_EQ(event.particle_number, static_cast<int64_t>(index) + 1);
    EXPECT_EQ(event.name, "Bacillariophyceae");
    EXPECT_EQ(event.source, kLabelSourceExpert);
    EXPECT_EQ(event.classification, kPhytoflowClassification);
    EXPECT_EQ(event.author, "Jane Doe");
    EXPECT_EQ(event.status, ExpertStatus::kValidated);
    // "YYYY-MM-DDTHH:MM:SS.ffffffZ": UTC to the microsecond.
    EXPECT_EQ(event.created_at.size(), 27u) << event.created_at;
    EXPECT_EQ(event.created_at.substr(19, 1), ".");
    EXPECT_EQ(event.created_at.back(), 'Z');
    EXPECT_GT(event.sequence, index == 0 ? 0 : report.events[index - 1].sequence);
  }
  for (const int64_t number : {1, 2, 3}) {
    const ResolvedLabel resolved = Resolved(*store_, number);
    EXPECT_EQ(resolved.name, "Bacillariophyceae") << number;
    EXPECT_EQ(resolved.status, LabelStatus::kValidated) << number;
    EXPECT_EQ(resolved.identified_by, "Jane Doe") << number;
  }
  EXPECT_EQ(Resolved(*store_, 4).status, LabelStatus::kUncertain);

  // A class the model knows (it is in the predictions' top-k) is accepted as given.
  EXPECT_EQ(
      ValidateParticles(*store_, "s", {.particle_numbers = {4}, .label = "ModelOnlyClass"}, "Jo")
          .events.at(0)
          .name,
      "ModelOnlyClass");
  // So is one of ValidationOptions::model_classes.
  EXPECT_EQ(ValidateParticles(*store_,
                              "s",
                              {.particle_numbers = {4}, .label = "Other"},
                              "Jo",
                              {.model_classes = {"Other"}})
                .events.size(),
            1u);
}

TEST_P(Validation, RefusesRequestsThatCannotBeRight) {
  const std::string author = "Jane Doe";
  ExpectError(ErrorCode::kInvalidInput, [&] {
    ValidateParticles(*store_, "s", {.particle_numbers = {1}, .label = "Nonexistentia"}, author);
  });
  ExpectError(ErrorCode::kInvalidInput, [&] {
    ValidateParticles(*store_, "s", {.particle_numbers = {1}, .label = "A"}, "");
  });
  ExpectError(ErrorCode::kInvalidInput,
              [&] { ValidateParticles(*store_, "s", {.particle_numbers = {1}}, author); });
  ExpectError(ErrorCode::kInvalidInput,
              [&] { ValidateParticles(*store_, "s", {.label = "Bacillariophyceae"}, author); });
  ExpectError(ErrorCode::kInvalidInput, [&] {
    ValidateParticles(
        *store_, "s", {.particle_numbers = {1}, .label = kDubiousLabel, .dubious = true}, author);
  });
  ExpectError(ErrorCode::kNotFound, [&] {
    ValidateParticles(
        *store_, "nope", {.particle_numbers = {1}, .label = "Bacillariophyceae"}, author);
  });
  EXPECT_EQ(ExpertEventCount(*store_, 1), 0);
  // A new class is accepted when asked for.
  const ValidationReport report = ValidateParticles(
      *store_,
      "s",
      {.particle_numbers = {1}, .label = "Nonexistentia", .allow_new_class = true},
      author);
  EXPECT_EQ(report.events.at(0).name, "Nonexistentia");
}

TEST_P(Validation, BulkRelabelIsAllOrNothing) {
  // Particle 99 does not exist: none of the others is written either.
  ExpectError(ErrorCode::kNotFound, [&] {
    ValidateParticles(*store_,
                      "s",
                      {.particle_numbers = {1, 2, 3, 4, 5, 99}, .label = "Bacillariophyceae"},
                      "Jane Doe");
  });
  for (int64_t number = 1; number <= kParticles; ++number) {
    EXPECT_EQ(ExpertEventCount(*store_, number), 0) << number;
  }
  // Every particle of the sample at once: one batch, ten events with consecutive-order numbers.
  std::vector<int64_t> all;
  for (int64_t number = 1; number <= kParticles; ++number) {
    all.push_back(number);
  }
  const ValidationReport report = ValidateParticles(
      *store_, "s", {.particle_numbers = all, .label = "Bacillariophyceae"}, "Jane Doe");
  ASSERT_EQ(report.events.size(), 10u);
  EXPECT_TRUE(std::is_sorted(
      report.events.begin(), report.events.end(), [](const Label& a, const Label& b) {
        return a.sequence < b.sequence;
      }));
  for (int64_t number = 1; number <= kParticles; ++number) {
    EXPECT_EQ(Resolved(*store_, number).status, LabelStatus::kValidated) << number;
  }
}

TEST_P(Validation, AcceptKeepsEachParticlesCurrentClass) {
  // Particle 3 was relabelled by an expert; 1 is predicted Dolichospermum; 2 and 4 are uncertain
  // with Dolichospermum as best guess. Accepting 1-4 validates each with what it shows now.
  ValidateParticles(*store_, "s", {.particle_numbers = {3}, .label = "ModelOnlyClass"}, "Ann");
  const ValidationReport report = ValidateParticles(
      *store_, "s", {.particle_numbers = {4, 1, 3, 2}, .accept_current = true}, "Bo");
  ASSERT_EQ(report.events.size(), 4u);
  const std::vector<std::string> expected = {
      "Dolichospermum", "Dolichospermum", "ModelOnlyClass", "Dolichospermum"};
  for (size_t index = 0; index < 4; ++index) {
    const ResolvedLabel resolved = Resolved(*store_, static_cast<int64_t>(index + 1));
    EXPECT_EQ(resolved.status, LabelStatus::kValidated) << index + 1;
    EXPECT_EQ(resolved.name, expected[index]) << index + 1;
    EXPECT_EQ(resolved.identified_by, "Bo") << index + 1;
  }
  EXPECT_EQ(Resolved(*store_, 5).status, LabelStatus::kPredicted);

  // A particle the sample lacks is not found, and nothing of the batch is written; a class or
  // dubious together with accepting is refused.
  ExpectError(ErrorCode::kNotFound, [&] {
    ValidateParticles(*store_, "s", {.particle_numbers = {5, 6, 99}, .accept_current = true}, "Bo");
  });
  EXPECT_EQ(ExpertEventCount(*store_, 5), 0);
  EXPECT_EQ(ExpertEventCount(*store_, 6), 0);
  ExpectError(ErrorCode::kInvalidInput, [&] {
    ValidateParticles(*store_,
                      "s",
                      {.particle_numbers = {5}, .label = "Dolichospermum", .accept_current = true},
                      "Bo");
  });
  ExpectError(ErrorCode::kInvalidInput, [&] {
    ValidateParticles(
        *store_, "s", {.particle_numbers = {5}, .dubious = true, .accept_current = true}, "Bo");
  });
  EXPECT_EQ(ExpertEventCount(*store_, 5), 0);
}

TEST_P(Validation, DubiousFallsBackToThePrediction) {
  ValidateParticles(
      *store_, "s", {.particle_numbers = {1}, .label = "Bacillariophyceae"}, "Jane Doe");
  const ValidationReport dubious =
      ValidateParticles(*store_, "s", {.particle_numbers = {1}, .dubious = true}, "Jo Bloggs");
  EXPECT_EQ(dubious.events.at(0).status, ExpertStatus::kDubious);
  EXPECT_EQ(dubious.events.at(0).name, "");
  const ResolvedLabel resolved = Resolved(*store_, 1);
  EXPECT_TRUE(resolved.dubious);
  EXPECT_EQ(resolved.status, LabelStatus::kPredicted);
  EXPECT_EQ(resolved.name, "Dolichospermum");
  EXPECT_EQ(resolved.identified_by, kModel);
  // The store counts the particle as dubious, not under a class.
  bool counted = false;
  for (const LabelCount& count : store_->CountLabels("s")) {
    if (count.source == kLabelSourceExpert) {
      EXPECT_EQ(count.name, kDubiousLabel);
      EXPECT_EQ(count.count, 1);
      counted = true;
    }
  }
  EXPECT_TRUE(counted);
  // Undoing the doubt gives the validation back.
  UndoValidation(*store_, "s", 1, "Jo Bloggs");
  EXPECT_EQ(Resolved(*store_, 1).name, "Bacillariophyceae");
  EXPECT_EQ(Resolved(*store_, 1).status, LabelStatus::kValidated);
}

TEST_P(Validation, UndoRevertsTheNewestChangeAndUndoingAnUndoRedoes) {
  const std::string author = "Jane Doe";
  const int64_t first =
      ValidateParticles(
          *store_, "s", {.particle_numbers = {1}, .label = "Bacillariophyceae"}, author)
          .events.at(0)
          .sequence;
  const int64_t second =
      ValidateParticles(*store_, "s", {.particle_numbers = {1}, .label = "Dinophyceae"}, author)
          .events.at(0)
          .sequence;
  EXPECT_EQ(Resolved(*store_, 1).name, "Dinophyceae");

  // An undo of what the user did not see is refused, and writes nothing.
  ExpectError(ErrorCode::kConflict,
              [&] { UndoValidation(*store_, "s", 1, author, {.expected_sequence = first}); });
  EXPECT_EQ(ExpertEventCount(*store_, 1), 2);

  const Label undo =
      UndoValidation(*store_, "s", 1, author, {.expected_sequence = second}).events.at(0);
  EXPECT_EQ(undo.undoes, second);
  EXPECT_EQ(undo.restores, first);
  EXPECT_EQ(undo.name, "Bacillariophyceae");
  EXPECT_GT(undo.sequence, second);
  EXPECT_EQ(Resolved(*store_, 1).name, "Bacillariophyceae");

  // Undoing the undo redoes; undoing that undoes again.
  const Label redo = UndoValidation(*store_, "s", 1, author).events.at(0);
  EXPECT_EQ(redo.undoes, undo.sequence);
  EXPECT_EQ(redo.restores, second);
  EXPECT_EQ(Resolved(*store_, 1).name, "Dinophyceae");
  UndoValidation(*store_, "s", 1, author);
  EXPECT_EQ(Resolved(*store_, 1).name, "Bacillariophyceae");

  // Undo back to before the first validation: the prediction counts again.
  ValidateParticles(*store_, "s", {.particle_numbers = {2}, .label = "Bacillariophyceae"}, author);
  const Label back = UndoValidation(*store_, "s", 2, author).events.at(0);
  EXPECT_EQ(back.status, ExpertStatus::kWithdrawn);
  EXPECT_EQ(back.restores, 0);
  EXPECT_EQ(Resolved(*store_, 2).status, LabelStatus::kUncertain);

  // Nothing to undo, an unknown particle or sample.
  ExpectError(ErrorCode::kConflict, [&] { UndoValidation(*store_, "s", 5, author); });
  ExpectError(ErrorCode::kNotFound, [&] { UndoValidation(*store_, "s", 99, author); });
  ExpectError(ErrorCode::kNotFound, [&] { UndoValidation(*store_, "nope", 1, author); });
  ExpectError(ErrorCode::kInvalidInput, [&] { UndoValidation(*store_, "s", 1, ""); });
}

TEST_P(Validation, UndoGivesBackWhatWasShownAcrossClassifications) {
  // phytoflow Y, then an EcoTaxa import X, then phytoflow Z: before Z, X was shown (it is newer
  // than Y), so undoing Z shows X again, not Y; redoing shows Z.
  const std::string author = "Jane Doe";
  ValidateParticles(*store_, "s", {.particle_numbers = {1}, .label = "Dinophyceae"}, author);
  const Label ecotaxa{.particle_number = 1,
                      .name = "Bacillariophyceae",
                      .source = kLabelSourceExpert,
                      .classification = "ecotaxa",
                      .author = "EcoTaxa user",
                      .created_at = "2025-05-02T10:15:00Z"};
  store_->AppendExpertLabels("s", std::span(&ecotaxa, 1));
  ValidateParticles(*store_, "s", {.particle_numbers = {1}, .label = "Ciliophora"}, author);
  EXPECT_EQ(Resolved(*store_, 1).name, "Ciliophora");
  UndoValidation(*store_, "s", 1, author);
  EXPECT_EQ(Resolved(*store_, 1).name, "Bacillariophyceae");
  EXPECT_EQ(Resolved(*store_, 1).identified_by, "EcoTaxa user");
  UndoValidation(*store_, "s", 1, author);
  EXPECT_EQ(Resolved(*store_, 1).name, "Ciliophora");
}

TEST_P(Validation, HistoryShowsEveryEventAndWhatCountsNow) {
  const std::string author = "Jane Doe";
  const int64_t set =
      ValidateParticles(
          *store_, "s", {.particle_numbers = {3}, .label = "Bacillariophyceae"}, author)
          .events.at(0)
          .sequence;
  ValidateParticles(*store_, "s", {.particle_numbers = {3}, .dubious = true}, author);
  const int64_t undo = UndoValidation(*store_, "s", 3, author).events.at(0).sequence;

  const ParticleHistoryReport history = ParticleHistory(*store_, "s", 3);
  EXPECT_EQ(history.sample_id, "s");
  EXPECT_EQ(history.particle_number, 3);
  ASSERT_EQ(history.entries.size(), 4u);
  EXPECT_EQ(history.entries[0].kind, "label");  // the model's prediction
  EXPECT_EQ(history.entries[0].label.source, kLabelSourceModel);
  EXPECT_TRUE(history.entries[0].current);
  EXPECT_EQ(history.entries[1].kind, "validate");
  EXPECT_EQ(history.entries[1].label.sequence, set);
  EXPECT_FALSE(history.entries[1].current);
  EXPECT_EQ(history.entries[2].kind, "dubious");
  EXPECT_FALSE(history.entries[2].current);
  EXPECT_EQ(history.entries[3].kind, "undo");
  EXPECT_TRUE(history.entries[3].current);
  EXPECT_EQ(history.newest_sequence, undo);
  EXPECT_EQ(history.resolved.name, "Bacillariophyceae");
  EXPECT_EQ(history.resolved.status, LabelStatus::kValidated);

  // A replaced prediction stays in the history, no longer current.
  Label again{.particle_number = 3,
              .name = "Dolichospermum",
              .source = kLabelSourceModel,
              .classification = kModel,
              .author = "phytoflow",
              .created_at = "2024-03-01T00:00:00Z"};
  store_->ReplaceLabels("s", kLabelSourceModel, kModel, std::span(&again, 1));
  const ParticleHistoryReport replaced = ParticleHistory(*store_, "s", 3);
  ASSERT_EQ(replaced.entries.size(), 5u);
  EXPECT_FALSE(replaced.entries[0].current);
  EXPECT_EQ(replaced.entries[1].label, again);
  EXPECT_TRUE(replaced.entries[1].current);

  ExpectError(ErrorCode::kNotFound, [&] { ParticleHistory(*store_, "s", 99); });
  ExpectError(ErrorCode::kNotFound, [&] { ParticleHistory(*store_, "nope", 1); });
  EXPECT_EQ(ParticleHistory(*store_, "s", 5).newest_sequence, 0);
}

TEST_P(Validation, ConcurrentValidationsOfOneParticleResolveConsistently) {
  // Eight handles on the store (eight connections, as eight processes would have) validate
  // particle 3 ten times each, all at once.
  constexpr int kWriters = 8;
  constexpr int kRounds = 10;
  std::vector<std::unique_ptr<Store>> handles;
  for (int writer = 0; writer < kWriters; ++writer) {
    handles.push_back(GetParam().open(scratch_.Path()));
  }
  std::vector<std::vector<Label>> written(kWriters);
  std::vector<std::string> failures(kWriters);
  {
    std::vector<std::jthread> threads;
    for (int writer = 0; writer < kWriters; ++writer) {
      threads.emplace_back([&, writer] {
        try {
          for (int round = 0; round < kRounds; ++round) {
            const ValidationReport report =
                ValidateParticles(*handles[writer],
                                  "s",
                                  {.particle_numbers = {3},
                                   .label = "Class-" + std::to_string(writer),
                                   .allow_new_class = true},
                                  "writer " + std::to_string(writer));
            written[writer].push_back(report.events.at(0));
          }
        } catch (const std::exception& error) {
          failures[writer] = error.what();
        }
      });
    }
  }
  for (int writer = 0; writer < kWriters; ++writer) {
    EXPECT_EQ(failures[writer], "") << "writer " << writer;
  }

  // Every event is kept, each with its own number, and the history holds exactly those.
  std::set<int64_t> sequences;
  const Label* newest = nullptr;
  for (const std::vector<Label>& events : written) {
    for (const Label& event : events) {
      EXPECT_TRUE(sequences.insert(event.sequence).second) << "sequence given twice";
      if (newest == nullptr || event.sequence > newest->sequence) {
        newest = &event;
      }
    }
  }
  ASSERT_EQ(sequences.size(), static_cast<size_t>(kWriters * kRounds));
  std::set<int64_t> in_history;
  for (const Label& label : store_->LabelHistory("s", 3)) {
    if (label.source == kLabelSourceExpert) {
      in_history.insert(label.sequence);
    }
  }
  EXPECT_EQ(in_history, sequences);
  // The highest number wins, and every handle sees the same winner.
  ASSERT_NE(newest, nullptr);
  for (const std::unique_ptr<Store>& handle : handles) {
    const ResolvedLabel resolved = Resolved(*handle, 3);
    EXPECT_EQ(resolved.name, newest->name);
    EXPECT_EQ(resolved.identified_by, newest->author);
  }
  EXPECT_EQ(ParticleHistory(*store_, "s", 3).newest_sequence, newest->sequence);
}

INSTANTIATE_TEST_SUITE_P(Sqlite,
                         Validation,
                         ::testing::Values(Backend{.name = "file",
                                                   .open =
                                                       [](const fs::path& scratch) {
                                                         return OpenSqliteStore(scratch /
                                                                                "store.db");
                                                       }}),
                         [](const ::testing::TestParamInfo<Backend>& param_info) {
                           return param_info.param.name;
                         });

#ifdef PHYTOFLOW_WITH_MONGO
// One database per test, named after its scratch folder (unique).
std::string MongoTestDatabaseUri(const fs::path& scratch) {
  const std::optional<std::string> server = fixtures::TestMongoUri();
  if (!server) {
    throw std::runtime_error(fixtures::NoMongoServerMessage());
  }
  return fixtures::WithDatabase(*server, scratch.filename().string());
}

INSTANTIATE_TEST_SUITE_P(
    Mongo,
    Validation,
    ::testing::Values(Backend{
        .name = "mongodb",
        .open =
            [](const fs::path& scratch) { return OpenMongoStore(MongoTestDatabaseUri(scratch)); },
        .remove =
            [](const fs::path& scratch) {
              if (fixtures::TestMongoUri()) {
                fixtures::DropMongoDatabase(MongoTestDatabaseUri(scratch));
              }
            }}),
    [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });
#endif

}  // namespace
}  // namespace phytoflow
