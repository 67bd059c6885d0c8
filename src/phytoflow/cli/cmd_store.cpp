#include "phytoflow/app/store_copy.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"
#include "phytoflow/storage/store_uri.h"
#ifdef PHYTOFLOW_WITH_MONGO
#include "phytoflow/storage/mongo/mongo_store.h"
#endif

#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

struct CopyArguments {
  std::string from;
  std::string to;
  bool json = false;
};

struct GcArguments {
  std::string store;
  int64_t older_than_s = 3600;
  bool json = false;
};

// What a user may see of a store name: MongoDB passwords hidden.
std::string Shown(const std::string& uri) {
#ifdef PHYTOFLOW_WITH_MONGO
  if (ParseStoreUri(uri).kind == StoreUri::Kind::kMongo) {
    return RedactMongoUri(uri);
  }
#endif
  return uri;
}

// Opening a SQLite path creates the file, which a copy source must never do.
std::unique_ptr<Store> OpenExistingStore(const std::string& uri) {
  const StoreUri parsed = ParseStoreUri(uri);
  Check(parsed.kind != StoreUri::Kind::kSqlite || std::filesystem::exists(parsed.location),
        ErrorCode::kNotFound,
        "store copy: no store at '" + parsed.location + "'");
  return OpenStore(uri);
}

void Copy(const CopyArguments& arguments) {
  const StoreUri from_uri = ParseStoreUri(arguments.from);
  const StoreUri to_uri = ParseStoreUri(arguments.to);
  Check(from_uri.kind != to_uri.kind || from_uri.location != to_uri.location,
        ErrorCode::kInvalidInput,
        "store copy: FROM and TO are the same store ('" + Shown(arguments.from) + "')");
  const std::unique_ptr<Store> from = OpenExistingStore(arguments.from);
  const std::unique_ptr<Store> to = OpenStore(arguments.to);
  StoreCopyOptions options;
  if (!arguments.json) {
    options.on_sample_copied = [](const std::string& sample_id, int64_t particles) {
      fmt::print("copied {} ({} particles)\n", sample_id, particles);
      std::fflush(stdout);
    };
  }
  const StoreCopyReport report = CopyStore(*from, *to, options);
  if (arguments.json) {
    nlohmann::json skipped = nlohmann::json::array();
    for (const StoreCopySkip& skip : report.skipped) {
      skipped.push_back({{"sample_id", skip.sample_id}, {"existing_id", skip.existing_id}});
    }
    const nlohmann::json json = {{"from", Shown(arguments.from)},
                                 {"to", Shown(arguments.to)},
                                 {"copied", report.copied},
                                 {"skipped", skipped},
                                 {"particles", report.particles},
                                 {"images", report.images},
                                 {"masks", report.masks},
                                 {"labels", report.labels},
                                 {"checksum", report.checksum},
                                 {"verified", true}};
    std::cout << json.dump(2) << "\n";
    return;
  }
  for (const StoreCopySkip& skip : report.skipped) {
    fmt::print("skipped {}: already in {} as {} (same fingerprint)\n",
               skip.sample_id,
               Shown(arguments.to),
               skip.existing_id);
  }
  fmt::print(
      "copied {} samples ({} particles, {} images, {} masks, {} labels), skipped {}; verified by "
      "reading both stores: checksum {}\n",
      report.copied.size(),
      report.particles,
      report.images,
      report.masks,
      report.labels,
      report.skipped.size(),
      report.checksum);
}

void CollectGarbage(const GcArguments& arguments) {
  Check(arguments.older_than_s >= 0,
        ErrorCode::kInvalidInput,
        "--older-than: expected seconds >= 0, found " + std::to_string(arguments.older_than_s));
  const StoreUri parsed = ParseStoreUri(arguments.store);
  nlohmann::json json = {{"store", Shown(arguments.store)},
                         {"writes", 0},
                         {"particles", 0},
                         {"images", 0},
                         {"labels", 0},
                         {"label_history", 0},
                         {"files", 0}};
  if (parsed.kind == StoreUri::Kind::kSqlite) {
    // Opening checks that it is a store; a SQLite transaction leaves nothing behind to collect.
    OpenStore(arguments.store);
    if (arguments.json) {
      std::cout << json.dump(2) << "\n";
    } else {
      fmt::print("nothing to collect: a SQLite store rolls interrupted writes back by itself\n");
    }
    return;
  }
#ifdef PHYTOFLOW_WITH_MONGO
  const MongoGarbageReport report = CollectMongoGarbage(
      parsed.location, {.stale_after = std::chrono::seconds(arguments.older_than_s)});
  json["writes"] = report.writes;
  json["particles"] = report.particles;
  json["images"] = report.images;
  json["labels"] = report.labels;
  json["label_history"] = report.label_history;
  json["files"] = report.files;
  if (arguments.json) {
    std::cout << json.dump(2) << "\n";
  } else {
    fmt::print(
        "removed {} interrupted writes and unreferenced documents: {} particles, {} images, {} "
        "labels, {} label history entries, {} files\n",
        report.writes,
        report.particles,
        report.images,
        report.labels,
        report.label_history,
        report.files);
  }
#else
  OpenStore(arguments.store);  // throws: built without MongoDB
#endif
}

}  // namespace

void AddStoreCommands(CLI::App& app) {
  CLI::App* store = app.add_subcommand("store", "Copy stores and clean them up");
  store->require_subcommand(1);

  auto copy_arguments = std::make_shared<CopyArguments>();
  CLI::App* copy = store->add_subcommand(
      "copy",
      "Copy every sample (particles, images, outlines, labels, files, metadata) from one store "
      "to another, e.g. a SQLite file to MongoDB; samples already in TO (same fingerprint) are "
      "skipped; the copy is verified by counts and a checksum read from both stores");
  copy->add_option("FROM", copy_arguments->from, "Source store: PATH, sqlite:PATH or mongodb://...")
      ->required();
  copy->add_option("TO", copy_arguments->to, "Target store: PATH, sqlite:PATH or mongodb://...")
      ->required();
  copy->add_flag("--json", copy_arguments->json, "Print a JSON object");
  copy->callback([copy_arguments] { Copy(*copy_arguments); });

  auto gc_arguments = std::make_shared<GcArguments>();
  CLI::App* gc = store->add_subcommand(
      "gc",
      "Remove what interrupted writes left in a MongoDB store (documents no sample refers to); "
      "a SQLite store needs none");
  AddStoreOption(*gc, gc_arguments->store);
  gc->add_option("--older-than",
                 gc_arguments->older_than_s,
                 "Seconds after which an unfinished write counts as crashed (default 3600; 0 also "
                 "removes writes in progress: only when nothing else writes)")
      ->capture_default_str();
  gc->add_flag("--json", gc_arguments->json, "Print a JSON object");
  gc->callback([gc_arguments] { CollectGarbage(*gc_arguments); });
}

}  // namespace phytoflow
