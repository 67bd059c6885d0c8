#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <cstdlib>
#include <filesystem>
#include <string>

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

}  // namespace
}  // namespace phytoflow
