// token create|list|revoke: the API tokens of the HTTP service (docs/api.md, "Accounts"). They
// live in the service state file: <store>.service.db beside a SQLite store, or --state FILE.

#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"
#include "phytoflow/server/accounts.h"
#include "phytoflow/server/serve_config.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <charconv>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

struct TokenArguments {
  std::string store;
  std::string state;
  std::string role;
  std::string name;
  std::string id;
  bool json = false;
};

std::unique_ptr<ServiceState> OpenState(const TokenArguments& arguments) {
  return OpenSqliteServiceState(ServiceStatePath(arguments.store, arguments.state));
}

nlohmann::json TokenJson(const ApiToken& token) {
  const auto or_null = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  return {{"id", token.id},
          {"name", token.name},
          {"role", std::string(RoleName(token.role))},
          {"created_at", token.created_at},
          {"last_used_at", or_null(token.last_used_at)},
          {"revoked_at", or_null(token.revoked_at)}};
}

void CreateToken(const TokenArguments& arguments) {
  const std::optional<Role> role = ParseRole(arguments.role);
  Check(role.has_value(),
        ErrorCode::kInvalidInput,
        "--role: expected viewer, annotator or admin, found '" + arguments.role + "'");
  const auto state = OpenState(arguments);
  TokenRegistry tokens(*state);
  const IssuedToken issued = tokens.Create(arguments.name, *role);
  if (arguments.json) {
    nlohmann::json json = TokenJson(issued.token);
    json["token"] = issued.secret;
    std::cout << json.dump(2) << "\n";
    return;
  }
  // The secret alone on stdout, so that TOKEN=$(phytoflow token create ...) works.
  fmt::print(stderr,
             "token {} ({}, {}) created; the secret below is shown only now, keep it safe:\n",
             issued.token.id,
             issued.token.name,
             RoleName(issued.token.role));
  std::cout << issued.secret << std::endl;
}

void ListTokens(const TokenArguments& arguments) {
  const auto state = OpenState(arguments);
  const std::vector<ApiToken> tokens = TokenRegistry(*state).List();
  if (arguments.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const ApiToken& token : tokens) {
      all.push_back(TokenJson(token));
    }
    std::cout << all.dump(2) << "\n";
    return;
  }
  fmt::print("{:>4}  {:<24} {:<10} {:<21} {:<21} {}\n",
             "ID",
             "NAME",
             "ROLE",
             "CREATED",
             "LAST USED",
             "REVOKED");
  for (const ApiToken& token : tokens) {
    fmt::print("{:>4}  {:<24} {:<10} {:<21} {:<21} {}\n",
               token.id,
               token.name,
               RoleName(token.role),
               token.created_at,
               token.last_used_at.empty() ? "-" : token.last_used_at,
               token.revoked_at.empty() ? "-" : token.revoked_at);
  }
}

void RevokeToken(const TokenArguments& arguments) {
  int64_t id = 0;
  const auto [end, error] =
      std::from_chars(arguments.id.data(), arguments.id.data() + arguments.id.size(), id);
  Check(error == std::errc() && end == arguments.id.data() + arguments.id.size(),
        ErrorCode::kInvalidInput,
        "ID: expected a token id (see `phytoflow token list`), found '" + arguments.id + "'");
  const auto state = OpenState(arguments);
  Check(TokenRegistry(*state).Revoke(id),
        ErrorCode::kNotFound,
        "no token " + arguments.id + " (see `phytoflow token list`)");
  fmt::print("token {} revoked\n", id);
}

void AddStateOptions(CLI::App& command, TokenArguments& arguments) {
  AddStoreOption(command, arguments.store);
  command.add_option("--state",
                     arguments.state,
                     "Service state file (default: <store>.service.db beside a SQLite store; "
                     "required for a MongoDB store)");
}

}  // namespace

void AddTokenCommands(CLI::App& app) {
  CLI::App* token = app.add_subcommand(
      "token", "API tokens of the HTTP service: create (the secret is shown once), list, revoke");
  token->require_subcommand(1);

  auto create_arguments = std::make_shared<TokenArguments>();
  CLI::App* create = token->add_subcommand(
      "create", "Create a token and print its secret (only now; it is stored hashed)");
  create->add_option("--role", create_arguments->role, "viewer, annotator or admin")->required();
  create->add_option("--name", create_arguments->name, "Who or what the token is for")->required();
  AddStateOptions(*create, *create_arguments);
  create->add_flag(
      "--json", create_arguments->json, "Print a JSON object with the secret in 'token'");
  create->callback([create_arguments] { CreateToken(*create_arguments); });

  auto list_arguments = std::make_shared<TokenArguments>();
  CLI::App* list = token->add_subcommand("list", "List the tokens (never their secrets)");
  AddStateOptions(*list, *list_arguments);
  list->add_flag("--json", list_arguments->json, "Print a JSON array");
  list->callback([list_arguments] { ListTokens(*list_arguments); });

  auto revoke_arguments = std::make_shared<TokenArguments>();
  CLI::App* revoke = token->add_subcommand(
      "revoke", "Revoke a token: a running server refuses it from its next request");
  revoke->add_option("ID", revoke_arguments->id, "Token id (see `phytoflow token list`)")
      ->required();
  AddStateOptions(*revoke, *revoke_arguments);
  revoke->callback([revoke_arguments] { RevokeToken(*revoke_arguments); });
}

}  // namespace phytoflow
