#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

// A fresh folder under the system temp folder, removed at the end of the test.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "phytoflow-state-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempFolder() { fs::remove_all(path_); }
  const fs::path& Path() const { return path_; }

 private:
  fs::path path_;
};

TEST(SqliteServiceState, AddsFindsAndListsTokens) {
  auto state = OpenSqliteServiceState(":memory:");
  const ApiToken alice = state->AddToken("alice", Role::kAnnotator, kHashA, "2026-01-01T00:00:00Z");
  const ApiToken bot = state->AddToken("bot", Role::kViewer, kHashB, "2026-01-02T00:00:00Z");
  EXPECT_EQ(alice.id, 1);
  EXPECT_EQ(bot.id, 2);

  const auto found = state->FindToken(kHashA);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, alice);
  EXPECT_EQ(found->role, Role::kAnnotator);
  EXPECT_TRUE(found->last_used_at.empty());
  EXPECT_FALSE(state->FindToken(std::string(64, 'c')).has_value());

  const auto tokens = state->Tokens();
  ASSERT_EQ(tokens.size(), 2U);
  EXPECT_EQ(tokens[0].name, "alice");
  EXPECT_EQ(tokens[1].name, "bot");
}

TEST(SqliteServiceState, RefusesARepeatedSecret) {
  auto state = OpenSqliteServiceState(":memory:");
  state->AddToken("alice", Role::kAdmin, kHashA, "2026-01-01T00:00:00Z");
  try {
    state->AddToken("mallory", Role::kAdmin, kHashA, "2026-01-01T00:00:00Z");
    FAIL() << "a repeated secret hash was stored";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kConflict);
  }
}

TEST(SqliteServiceState, RevocationKeepsTheFirstTime) {
  auto state = OpenSqliteServiceState(":memory:");
  const ApiToken token = state->AddToken("alice", Role::kViewer, kHashA, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(state->RevokeToken(token.id, "2026-02-01T00:00:00Z"));
  EXPECT_TRUE(state->RevokeToken(token.id, "2026-03-01T00:00:00Z"));
  EXPECT_FALSE(state->RevokeToken(99, "2026-03-01T00:00:00Z"));
  const auto found = state->FindToken(kHashA);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->Revoked());
  EXPECT_EQ(found->revoked_at, "2026-02-01T00:00:00Z");
}

TEST(SqliteServiceState, TouchRecordsLastUse) {
  auto state = OpenSqliteServiceState(":memory:");
  const ApiToken token = state->AddToken("alice", Role::kViewer, kHashA, "2026-01-01T00:00:00Z");
  state->TouchToken(token.id, "2026-01-05T10:00:00Z");
  EXPECT_EQ(state->FindToken(kHashA)->last_used_at, "2026-01-05T10:00:00Z");
}

TEST(SqliteServiceState, SurvivesReopeningAndIsSharedBetweenConnections) {
  TempFolder folder;
  const fs::path path = folder.Path() / "store.db.service.db";
  auto first = OpenSqliteServiceState(path);
  const ApiToken token = first->AddToken("alice", Role::kAdmin, kHashA, "2026-01-01T00:00:00Z");
  // Another process (here: another connection) revokes; the first sees it at once.
  auto second = OpenSqliteServiceState(path);
  EXPECT_TRUE(second->RevokeToken(token.id, "2026-01-02T00:00:00Z"));
  EXPECT_TRUE(first->FindToken(kHashA)->Revoked());
  first.reset();
  second.reset();
  auto reopened = OpenSqliteServiceState(path);
  ASSERT_EQ(reopened->Tokens().size(), 1U);
  EXPECT_EQ(reopened->Tokens()[0].revoked_at, "2026-01-02T00:00:00Z");
}

TEST(SqliteServiceState, SettingsAreReplacedAndSurviveReopening) {
  TempFolder folder;
  const fs::path path = folder.Path() / "store.db.service.db";
  {
    auto state = OpenSqliteServiceState(path);
    EXPECT_FALSE(state->Setting(kActiveModelSetting).has_value());
    state->SetSetting(kActiveModelSetting, "model-a");
    state->SetSetting(kActiveModelSetting, "model-b");
    state->SetSetting("other", "");
  }
  auto reopened = OpenSqliteServiceState(path);
  EXPECT_EQ(reopened->Setting(kActiveModelSetting), "model-b");
  EXPECT_EQ(reopened->Setting("other"), "");
}

TEST(SqliteServiceState, RefusesAStoreFile) {
  TempFolder folder;
  const fs::path store_path = folder.Path() / "store.db";
  OpenSqliteStore(store_path).reset();
  try {
    OpenSqliteServiceState(store_path);
    FAIL() << "a store file was opened as service state";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("not a phytoflow service state"), std::string::npos);
  }
}

TEST(SqliteServiceState, UnwritableFolderIsUnavailable) {
  try {
    OpenSqliteServiceState("/nonexistent-folder/phytoflow/state.db");
    FAIL() << "opened a state in a missing folder";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
  }
}

// ---------------------------------------------------------------------------------------------
// Jobs

Job NewJob(const std::string& kind, const std::string& params_json = "{}") {
  return Job{.kind = kind, .params_json = params_json, .created_by = "anna"};
}

TEST(SqliteServiceStateJobs, ClaimsTheOldestQueuedJobAndFinishesIt) {
  auto state = OpenSqliteServiceState(":memory:");
  const Job first = state->AddJob(NewJob("ingest", R"({"file":"a.zip"})"), "2026-01-01T00:00:00Z");
  const Job second = state->AddJob(NewJob("export"), "2026-01-01T00:00:01Z");
  EXPECT_EQ(first.id, 1);
  EXPECT_EQ(second.id, 2);
  EXPECT_EQ(first.state, JobState::kQueued);
  EXPECT_EQ(first.attempts, 0);
  EXPECT_EQ(first.params_json, R"({"file":"a.zip"})");
  EXPECT_EQ(first.created_by, "anna");
  EXPECT_EQ(first.created_at, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(first.started_at.empty());
  EXPECT_EQ(state->FindJob(1), first);

  const std::optional<Job> claimed = state->ClaimNextJob("2026-01-01T00:01:00Z");
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, 1);
  EXPECT_EQ(claimed->state, JobState::kRunning);
  EXPECT_EQ(claimed->attempts, 1);
  EXPECT_EQ(claimed->started_at, "2026-01-01T00:01:00Z");

  state->UpdateJobProgress(1, 120, 1000, "run r1");
  Job running = *state->FindJob(1);
  EXPECT_EQ(running.progress_done, 120);
  EXPECT_EQ(running.progress_total, 1000);
  EXPECT_EQ(running.progress_message, "run r1");

  EXPECT_TRUE(state->FinishJob(1,
                               {.state = JobState::kSucceeded,
                                .result_json = R"({"samples":[]})",
                                .result_file = "/tmp/r.zip"},
                               "2026-01-01T00:02:00Z"));
  const Job finished = *state->FindJob(1);
  EXPECT_EQ(finished.state, JobState::kSucceeded);
  EXPECT_EQ(finished.result_json, R"({"samples":[]})");
  EXPECT_EQ(finished.result_file, "/tmp/r.zip");
  EXPECT_TRUE(finished.error.empty());
  EXPECT_EQ(finished.finished_at, "2026-01-01T00:02:00Z");
  // A finished job stays as it ended: neither progress nor a second finish changes it.
  state->UpdateJobProgress(1, 5, 5, "late");
  EXPECT_FALSE(state->FinishJob(1, {.state = JobState::kFailed, .error = "x"}, "later"));
  EXPECT_EQ(*state->FindJob(1), finished);

  EXPECT_EQ(state->ClaimNextJob("2026-01-01T00:03:00Z")->id, 2);
  EXPECT_FALSE(state->ClaimNextJob("2026-01-01T00:03:00Z").has_value());
  EXPECT_FALSE(state->FindJob(3).has_value());
}

TEST(SqliteServiceStateJobs, ListsNewestFirstWithFiltersAndPages) {
  auto state = OpenSqliteServiceState(":memory:");
  for (const char* kind : {"ingest", "classify", "ingest", "export", "ingest"}) {
    state->AddJob(NewJob(kind), "2026-01-01T00:00:00Z");
  }
  state->ClaimNextJob("2026-01-01T00:01:00Z");  // job 1 runs

  const JobPage all = state->ListJobs({});
  EXPECT_EQ(all.total, 5);
  ASSERT_EQ(all.jobs.size(), 5U);
  EXPECT_EQ(all.jobs.front().id, 5);
  EXPECT_EQ(all.jobs.back().id, 1);

  const JobPage ingests = state->ListJobs({.kind = "ingest", .limit = 2, .offset = 1});
  EXPECT_EQ(ingests.total, 3);  // jobs 5, 3, 1; the page skips 5
  ASSERT_EQ(ingests.jobs.size(), 2U);
  EXPECT_EQ(ingests.jobs[0].id, 3);
  EXPECT_EQ(ingests.jobs[1].id, 1);

  const JobPage queued_ingests = state->ListJobs({.state = JobState::kQueued, .kind = "ingest"});
  EXPECT_EQ(queued_ingests.total, 2);  // 5 and 3; 1 is running
  const JobPage running = state->ListJobs({.state = JobState::kRunning});
  ASSERT_EQ(running.jobs.size(), 1U);
  EXPECT_EQ(running.jobs[0].id, 1);
}

TEST(SqliteServiceStateJobs, CancelsAQueuedJobAtOnceAndFlagsARunningOne) {
  auto state = OpenSqliteServiceState(":memory:");
  state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
  state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
  state->ClaimNextJob("2026-01-01T00:01:00Z");  // job 1 runs, job 2 waits

  const std::optional<Job> queued = state->RequestJobCancel(2, "2026-01-01T00:02:00Z");
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->state, JobState::kCancelled);
  EXPECT_EQ(queued->finished_at, "2026-01-01T00:02:00Z");
  EXPECT_FALSE(state->ClaimNextJob("2026-01-01T00:03:00Z").has_value());

  const std::optional<Job> running = state->RequestJobCancel(1, "2026-01-01T00:02:00Z");
  EXPECT_EQ(running->state, JobState::kRunning);
  EXPECT_TRUE(running->cancel_requested);
  EXPECT_TRUE(running->finished_at.empty());
  EXPECT_TRUE(state->FinishJob(1, {.state = JobState::kCancelled}, "2026-01-01T00:04:00Z"));

  // Finished jobs are left as they are; an unknown id is nullopt.
  EXPECT_EQ(state->RequestJobCancel(1, "2026-01-01T00:05:00Z")->finished_at,
            "2026-01-01T00:04:00Z");
  EXPECT_FALSE(state->RequestJobCancel(9, "2026-01-01T00:05:00Z").has_value());
}

TEST(SqliteServiceStateJobs, KeepsEachJobsLogInOrder) {
  auto state = OpenSqliteServiceState(":memory:");
  state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
  state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
  state->AppendJobLog(1, "2026-01-01T00:00:01Z", "started");
  state->AppendJobLog(2, "2026-01-01T00:00:02Z", "other job");
  state->AppendJobLog(1, "2026-01-01T00:00:03Z", "stored run r1");
  EXPECT_EQ(state->JobLog(1),
            (std::vector<JobLogLine>{{"2026-01-01T00:00:01Z", "started"},
                                     {"2026-01-01T00:00:03Z", "stored run r1"}}));
  EXPECT_EQ(state->JobLog(2).size(), 1U);
  EXPECT_TRUE(state->JobLog(3).empty());
}

TEST(SqliteServiceStateJobs, RecoversJobsInterruptedByARestart) {
  TempFolder folder;
  const fs::path path = folder.Path() / "store.db.service.db";
  {
    auto state = OpenSqliteServiceState(path);
    for (int idx = 0; idx < 4; ++idx) {
      state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
    }
    state->ClaimNextJob("2026-01-01T00:01:00Z");  // 1, 2 and 3 run; 4 waits
    state->ClaimNextJob("2026-01-01T00:01:00Z");
    state->ClaimNextJob("2026-01-01T00:01:00Z");
    state->RequestJobCancel(3, "2026-01-01T00:02:00Z");
  }  // the process dies with three jobs running
  {
    auto state = OpenSqliteServiceState(path);
    const std::vector<Job> changed = state->RecoverInterruptedJobs(2, "2026-01-01T01:00:00Z");
    ASSERT_EQ(changed.size(), 3U);
    // Tried once (fewer than 2 times): queued again, attempts kept.
    EXPECT_EQ(changed[0].id, 1);
    EXPECT_EQ(changed[0].state, JobState::kQueued);
    EXPECT_EQ(changed[0].attempts, 1);
    EXPECT_EQ(changed[1].id, 2);
    EXPECT_EQ(changed[1].state, JobState::kQueued);
    // Its cancellation was asked for: cancelled, not run again.
    EXPECT_EQ(changed[2].id, 3);
    EXPECT_EQ(changed[2].state, JobState::kCancelled);
    EXPECT_EQ(state->FindJob(4)->state, JobState::kQueued);

    const Job again = *state->ClaimNextJob("2026-01-01T01:01:00Z");
    EXPECT_EQ(again.id, 1);
    EXPECT_EQ(again.attempts, 2);
  }  // dies again while job 1 runs its second attempt
  auto state = OpenSqliteServiceState(path);
  const std::vector<Job> changed = state->RecoverInterruptedJobs(2, "2026-01-01T02:00:00Z");
  ASSERT_EQ(changed.size(), 1U);
  EXPECT_EQ(changed[0].id, 1);
  EXPECT_EQ(changed[0].state, JobState::kFailed);
  EXPECT_EQ(changed[0].error, "interrupted by a restart");
  EXPECT_EQ(changed[0].finished_at, "2026-01-01T02:00:00Z");
  EXPECT_TRUE(state->RecoverInterruptedJobs(2, "2026-01-01T03:00:00Z").empty());
}

TEST(SqliteServiceStateJobs, RequeueGivesTheAttemptBack) {
  auto state = OpenSqliteServiceState(":memory:");
  state->AddJob(NewJob("train"), "2026-01-01T00:00:00Z");
  ASSERT_EQ(state->ClaimNextJob("2026-01-01T00:01:00Z")->attempts, 1);
  state->UpdateJobProgress(1, 5, 10, "epoch 1/2");
  EXPECT_TRUE(state->RequeueJob(1));
  const Job requeued = *state->FindJob(1);
  EXPECT_EQ(requeued.state, JobState::kQueued);
  EXPECT_EQ(requeued.attempts, 0);  // 1 claimed - 1 given back
  EXPECT_EQ(requeued.progress_done, 0);
  EXPECT_FALSE(state->RequeueJob(1));  // queued, not running: nothing changes
  // Two graceful stops in a row leave the job as fresh: a restart after them finds nothing to
  // recover, and the next claim is attempt 1 again.
  ASSERT_EQ(state->ClaimNextJob("2026-01-01T00:02:00Z")->attempts, 1);
  EXPECT_TRUE(state->RequeueJob(1));
  EXPECT_TRUE(state->RecoverInterruptedJobs(2, "2026-01-01T00:03:00Z").empty());
  EXPECT_EQ(state->ClaimNextJob("2026-01-01T00:04:00Z")->attempts, 1);
  EXPECT_TRUE(state->FinishJob(1, {.state = JobState::kSucceeded}, "2026-01-01T00:05:00Z"));
  EXPECT_FALSE(state->RequeueJob(1));  // finished jobs stay finished
  EXPECT_EQ(state->FindJob(1)->state, JobState::kSucceeded);
}

TEST(SqliteServiceStateJobs, TwoConnectionsNeverClaimTheSameJob) {
  TempFolder folder;
  const fs::path path = folder.Path() / "store.db.service.db";
  constexpr int kJobs = 60;
  {
    auto state = OpenSqliteServiceState(path);
    for (int idx = 0; idx < kJobs; ++idx) {
      state->AddJob(NewJob("ingest"), "2026-01-01T00:00:00Z");
    }
  }
  // Two workers, each with its own connection (as two processes would have), claim until the
  // queue is empty; every job must be claimed exactly once.
  std::vector<int64_t> claimed[2];
  std::vector<std::thread> workers;
  for (int worker = 0; worker < 2; ++worker) {
    workers.emplace_back([&, worker] {
      auto state = OpenSqliteServiceState(path);
      while (const std::optional<Job> job = state->ClaimNextJob("2026-01-01T00:01:00Z")) {
        claimed[worker].push_back(job->id);
      }
    });
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  std::set<int64_t> all(claimed[0].begin(), claimed[0].end());
  all.insert(claimed[1].begin(), claimed[1].end());
  EXPECT_EQ(claimed[0].size() + claimed[1].size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));
}

}  // namespace
}  // namespace phytoflow
