#include "phytoflow/products/darwin_core.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/xml.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

using nlohmann::json;

constexpr const char* kDwc = "http://rs.tdwg.org/dwc/terms/";
constexpr const char* kObis = "http://rs.iobis.org/obis/terms/";
constexpr const char* kNvs = "http://vocab.nerc.ac.uk/collection/";

// ---------------------------------------------------------------------------------------------
// Text helpers

// A TSV field: tabs and line breaks would split the row, so they become spaces.
std::string Tsv(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return out;
}

// One part of an event id: characters outside [A-Za-z0-9_.-] become '-', runs of them one '-'.
std::string IdPart(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (allowed) {
      out += c;
    } else if (out.empty() || out.back() != '-') {
      out += '-';
    }
  }
  return out;
}

// Fixed notation with `significant` significant digits and no trailing zeros: no exponents,
// which some DwC consumers do not read. Integer digits are never dropped.
std::string Decimal(double value, int significant = 6) {
  if (value == 0) {
    return "0";
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  const int decimals = std::max(0, significant - 1 - magnitude);
  std::string text = fmt::format("{:.{}f}", value, decimals);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') {
      text.pop_back();
    }
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  return text == "-0" ? "0" : text;
}

// Decimal degrees to 6 decimals (about 0.1 m), trailing zeros dropped.
std::string Coordinate(double degrees) {
  std::string text = fmt::format("{:.6f}", degrees);
  while (text.back() == '0') {
    text.pop_back();
  }
  if (text.back() == '.') {
    text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) {
      out += separator;
    }
    out += part;
  }
  return out;
}

std::string DateOf(const std::string& iso) {
  return iso.substr(0, 10);
}

// An eventDate as OBIS checks it (obistools' ISO 8601 pattern has no fractional seconds):
// "2025-04-11T09:30:00.5Z" → "2025-04-11T09:30:00Z".
std::string EventDateOf(const std::string& iso) {
  const auto dot = iso.find('.');
  if (dot == std::string::npos) {
    return iso;
  }
  auto end = dot + 1;
  while (end < iso.size() && iso[end] >= '0' && iso[end] <= '9') {
    ++end;
  }
  return iso.substr(0, dot) + iso.substr(end);
}

// ---------------------------------------------------------------------------------------------
// dataset.json

const std::set<std::string> kDatasetFields = {"title",
                                              "abstract",
                                              "license_url",
                                              "license_name",
                                              "creators",
                                              "contact",
                                              "institution_code",
                                              "dataset_name",
                                              "citation",
                                              "geographic_description",
                                              "package_id",
                                              "pub_date",
                                              "language"};
const std::set<std::string> kPersonFields = {"name", "organization", "email", "orcid"};

std::string JsonTypeName(const json& value) {
  return value.type_name();
}

std::string StringField(const json& object,
                        const std::string& key,
                        const std::string& where,
                        const std::string& fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return fallback;
  }
  Check(it->is_string(),
        ErrorCode::kInvalidInput,
        where + key + "': expected a string, found " + JsonTypeName(*it));
  return it->get<std::string>();
}

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsIsoDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !IsDigits(text.substr(0, 4)) ||
      !IsDigits(text.substr(5, 2)) || !IsDigits(text.substr(8, 2))) {
    return false;
  }
  const int month = std::stoi(text.substr(5, 2));
  const int day = std::stoi(text.substr(8, 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// "0000-0002-1825-0097", bare or as a URL, to "https://orcid.org/0000-0002-1825-0097".
std::optional<std::string> NormalisedOrcid(const std::string& text) {
  const std::string id = text.size() >= 19 ? text.substr(text.size() - 19) : text;
  const bool prefix_ok =
      text.size() == 19 || text == "https://orcid.org/" + id || text == "http://orcid.org/" + id;
  const bool shape_ok = id.size() == 19 && id[4] == '-' && id[9] == '-' && id[14] == '-' &&
                        IsDigits(id.substr(0, 4)) && IsDigits(id.substr(5, 4)) &&
                        IsDigits(id.substr(10, 4)) && IsDigits(id.substr(15, 3)) &&
                        (IsDigits(id.substr(18, 1)) || id[18] == 'X');
  if (!prefix_ok || !shape_ok) {
    return std::nullopt;
  }
  return "https://orcid.org/" + id;
}

Person ParsePerson(const json& value, const std::string& source, const std::string& field) {
  const std::string where = source + ": field '" + field;
  Check(value.is_object(),
        ErrorCode::kInvalidInput,
        where + "': expected an object with name, organization, email, orcid, found " +
            JsonTypeName(value));
  for (const auto& [key, ignored] : value.items()) {
    Check(kPersonFields.contains(key),
          ErrorCode::kInvalidInput,
          where + "." + key + "': unknown field (expected name, organization, email, orcid)");
  }
  const std::string prefix = where + ".";
  Person person{.name = StringField(value, "name", prefix, ""),
                .organization = StringField(value, "organization", prefix, ""),
                .email = StringField(value, "email", prefix, ""),
                .orcid = StringField(value, "orcid", prefix, "")};
  Check(!person.name.empty() || !person.organization.empty(),
        ErrorCode::kInvalidInput,
        where + "': needs a name or an organization");
  Check(person.email.empty() || person.email.find('@') != std::string::npos,
        ErrorCode::kInvalidInput,
        where + ".email': expected an e-mail address, found '" + person.email + "'");
  if (!person.orcid.empty()) {
    const auto orcid = NormalisedOrcid(person.orcid);
    Check(orcid.has_value(),
          ErrorCode::kInvalidInput,
          where +
              ".orcid': expected an ORCID such as https://orcid.org/0000-0002-1825-0097, found '" +
              person.orcid + "'");
    person.orcid = *orcid;
  }
  return person;
}

std::string PersonLabel(const Person& person) {
  return person.name.empty() ? person.organization : person.name;
}

// ---------------------------------------------------------------------------------------------
// Tables

struct Column {
  const char* name;
  const char* ns;  // term namespace
};

const std::vector<Column> kEventColumns = {
    {"eventID", kDwc},
    {"parentEventID", kDwc},
    {"eventType", kDwc},
    {"eventDate", kDwc},
    {"decimalLatitude", kDwc},
    {"decimalLongitude", kDwc},
    {"geodeticDatum", kDwc},
    {"coordinateUncertaintyInMeters", kDwc},
    {"minimumDepthInMeters", kDwc},
    {"maximumDepthInMeters", kDwc},
    {"locationID", kDwc},
    {"waterBody", kDwc},
    {"countryCode", kDwc},
    {"samplingProtocol", kDwc},
    {"sampleSizeValue", kDwc},
    {"sampleSizeUnit", kDwc},
    {"datasetName", kDwc},
    {"institutionCode", kDwc},
    {"eventRemarks", kDwc},
};

const std::vector<Column> kOccurrenceColumns = {
    {"eventID", kDwc},
    {"occurrenceID", kDwc},
    {"basisOfRecord", kDwc},
    {"occurrenceStatus", kDwc},
    {"scientificName", kDwc},
    {"scientificNameID", kDwc},
    {"taxonRank", kDwc},
    {"kingdom", kDwc},
    {"organismQuantity", kDwc},
    {"organismQuantityType", kDwc},
    {"identificationVerificationStatus", kDwc},
    {"identifiedBy", kDwc},
    {"identificationReferences", kDwc},
    {"identificationRemarks", kDwc},
    {"verbatimIdentification", kDwc},
};

const std::vector<Column> kMeasurementColumns = {
    {"eventID", kDwc},
    {"occurrenceID", kDwc},
    {"measurementID", kDwc},
    {"measurementType", kDwc},
    {"measurementTypeID", kObis},
    {"measurementValue", kDwc},
    {"measurementValueID", kObis},
    {"measurementUnit", kDwc},
    {"measurementUnitID", kObis},
    {"measurementMethod", kDwc},
    {"measurementRemarks", kDwc},
};

class Table {
 public:
  explicit Table(const std::vector<Column>& columns) : columns_(columns) {
    std::vector<std::string> names;
    for (const Column& column : columns) {
      names.push_back(column.name);
    }
    Add(names);
  }
  void Add(const std::vector<std::string>& values) {
    assert(values.size() == columns_.size());  // every row has every column
    for (size_t i = 0; i < values.size(); ++i) {
      text_ += (i ? "\t" : "") + Tsv(values[i]);
    }
    text_ += '\n';
    ++rows_;
  }
  const std::string& Text() const { return text_; }
  size_t DataRows() const { return rows_ - 1; }

 private:
  const std::vector<Column>& columns_;
  std::string text_;
  size_t rows_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Events

struct EventRow {
  std::string id;
  std::string parent;
  std::string type;
  std::string date;
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<double> depth_min_m;
  std::optional<double> depth_max_m;
  std::string location_id;
  std::string water_body;
  std::string country_code;
  std::string protocol;
  std::string size_value;
  std::string size_unit;
  std::string remarks;
};

// Where each sample sits in the campaign → station visit → sample hierarchy.
struct SamplePlace {
  const DarwinCoreSample* input = nullptr;
  std::string campaign_id;  // empty without a campaign
  std::string visit_id;     // empty without a station
  std::string event_id;
};

SamplePlace PlaceOf(const DarwinCoreSample& input) {
  const SampleMetadata& metadata = input.sample.metadata;
  SamplePlace place{.input = &input};
  if (!metadata.campaign.empty()) {
    place.campaign_id = IdPart(metadata.campaign);
  }
  if (!metadata.station.empty()) {
    place.visit_id = (place.campaign_id.empty() ? "" : place.campaign_id + "_") +
                     IdPart(metadata.station) + "_" + DateOf(metadata.sampled_at);
  }
  const std::string& parent = place.visit_id.empty() ? place.campaign_id : place.visit_id;
  place.event_id = (parent.empty() ? "" : parent + "_") + IdPart(input.sample.id);
  return place;
}

// The value all samples share, or empty when they differ.
template <typename Get>
std::string Common(const std::vector<const SamplePlace*>& group, Get get) {
  const std::string first = get(group.front()->input->sample.metadata);
  for (const SamplePlace* place : group) {
    if (get(place->input->sample.metadata) != first) {
      return "";
    }
  }
  return first;
}

// "first/last" of sorted ISO 8601 values, or the value when they are equal.
std::string Interval(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values.front() == values.back() ? values.front() : values.front() + "/" + values.back();
}

EventRow CampaignEvent(const std::vector<const SamplePlace*>& group) {
  const SampleMetadata& first = group.front()->input->sample.metadata;
  std::vector<std::string> dates;
  for (const SamplePlace* place : group) {
    dates.push_back(DateOf(place->input->sample.metadata.sampled_at));
  }
  return EventRow{
      .id = group.front()->campaign_id,
      .type = "campaign",
      .date = Interval(dates),
      .water_body = Common(group, [](const SampleMetadata& m) { return m.water_body; }),
      .country_code = Common(group, [](const SampleMetadata& m) { return m.country_code; }),
      .remarks = fmt::format("campaign {}: {} sample(s)", first.campaign, group.size())};
}

EventRow VisitEvent(const std::vector<const SamplePlace*>& group) {
  const SampleMetadata& first = group.front()->input->sample.metadata;
  std::vector<std::string> times;
  double latitude_sum = 0;
  double longitude_sum = 0;
  std::optional<double> depth_min;
  std::optional<double> depth_max;
  for (const SamplePlace* place : group) {
    const SampleMetadata& metadata = place->input->sample.metadata;
    times.push_back(EventDateOf(metadata.sampled_at));
    latitude_sum += *metadata.latitude;
    longitude_sum += *metadata.longitude;
    if (metadata.depth_min_m) {
      depth_min = depth_min ? std::min(*depth_min, *metadata.depth_min_m) : *metadata.depth_min_m;
    }
    if (metadata.depth_max_m) {
      depth_max = depth_max ? std::max(*depth_max, *metadata.depth_max_m) : *metadata.depth_max_m;
    }
  }
  const auto count = static_cast<double>(group.size());
  return EventRow{
      .id = group.front()->visit_id,
      .parent = group.front()->campaign_id,
      .type = "stationVisit",
      .date = Interval(times),
      // The samples of one visit are normally taken at one position; if not, their centre.
      .latitude = latitude_sum / count,
      .longitude = longitude_sum / count,
      .depth_min_m = depth_min,
      .depth_max_m = depth_max,
      .location_id = first.station,
      .water_body = Common(group, [](const SampleMetadata& m) { return m.water_body; }),
      .country_code = Common(group, [](const SampleMetadata& m) { return m.country_code; }),
      .remarks = fmt::format("station {} visited on {}", first.station, DateOf(first.sampled_at))};
}

double VolumeMl(const DarwinCoreSample& input) {
  return input.composition.volume_imaged_ml ? *input.composition.volume_imaged_ml
                                            : *input.sample.volume_imaged_ml;
}

EventRow SampleEvent(const SamplePlace& place) {
  const Sample& sample = place.input->sample;
  const SampleMetadata& metadata = sample.metadata;
  std::string remarks = "FlowCam run " + sample.run_name;
  if (sample.magnification) {
    remarks += fmt::format(", {:g}x objective", *sample.magnification);
  }
  return EventRow{.id = place.event_id,
                  .parent = place.visit_id.empty() ? place.campaign_id : place.visit_id,
                  .type = "sample",
                  .date = EventDateOf(metadata.sampled_at),
                  .latitude = metadata.latitude,
                  .longitude = metadata.longitude,
                  .depth_min_m = metadata.depth_min_m,
                  .depth_max_m = metadata.depth_max_m,
                  .location_id = metadata.station,
                  .water_body = metadata.water_body,
                  .country_code = metadata.country_code,
                  .protocol = metadata.sampling_protocol,
                  .size_value = Decimal(VolumeMl(*place.input)),
                  .size_unit = "mL",
                  .remarks = remarks};
}

std::vector<std::string> EventValues(const EventRow& event, const DatasetDescription& dataset) {
  const auto number = [](const std::optional<double>& value, auto format) {
    return value ? format(*value) : std::string();
  };
  const auto depth = [](double metres) {
    return Decimal(metres);
  };
  return {event.id,
          event.parent,
          event.type,
          event.date,
          number(event.latitude, Coordinate),
          number(event.longitude, Coordinate),
          event.latitude ? "EPSG:4326" : "",
          "",
          number(event.depth_min_m, depth),
          number(event.depth_max_m, depth),
          event.location_id,
          event.water_body,
          event.country_code,
          event.protocol,
          event.size_value,
          event.size_unit,
          dataset.dataset_name.empty() ? dataset.title : dataset.dataset_name,
          dataset.institution_code,
          event.remarks};
}

// ---------------------------------------------------------------------------------------------
// Occurrences and measurements

struct Fact {
  std::string event_id;
  std::string occurrence_id;  // empty for a fact about the event
  std::string id_suffix;      // makes measurementID unique within its event or occurrence
  std::string type;
  std::string type_code;  // P01 code, or empty when NVS has none
  std::string value;
  std::string value_uri;  // full NVS URI, or empty
  std::string unit;
  std::string unit_code;  // P06 code, or empty
  std::string method;
  std::string remarks;
};

std::string NvsUri(std::string_view collection, std::string_view code) {
  return fmt::format("{}{}/current/{}/", kNvs, collection, code);
}

std::vector<std::string> FactValues(const Fact& fact) {
  const std::string& owner = fact.occurrence_id.empty() ? fact.event_id : fact.occurrence_id;
  return {fact.event_id,
          fact.occurrence_id,
          owner + "_" + fact.id_suffix,
          fact.type,
          fact.type_code.empty() ? "" : NvsUri("P01", fact.type_code),
          fact.value,
          fact.value_uri,
          fact.unit,
          fact.unit_code.empty() ? "" : NvsUri("P06", fact.unit_code),
          fact.method,
          fact.remarks};
}

// One occurrence: the particles of one taxon (AphiaID) in one sample with one verification
// status, over every class name that maps to that AphiaID.
struct Occurrence {
  int64_t aphia_id = 0;
  bool validated = false;
  const Taxon* taxon = nullptr;  // of the first class name
  std::vector<std::string> class_names;
  Quantities quantities;
  double probability_sum = 0;  // Σ mean probability × predicted particles
  int64_t probability_particles = 0;
  std::set<std::string> identified_by;
};

// Sampling devices whose NVS L22 concept is known (../shared/spec/darwin-core.md §1.4, §1.8):
// a name containing the key, ignoring case.
struct KnownGear {
  const char* key;
  const char* l22;
};
constexpr KnownGear kKnownGear[] = {
    {"apstein", "TOOL0978"}, {"wp-2", "TOOL0979"}, {"wp2", "TOOL0979"}};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string GearUri(const std::string& gear) {
  const std::string lower = Lower(gear);
  for (const KnownGear& known : kKnownGear) {
    if (lower.find(known.key) != std::string::npos) {
      return NvsUri("L22", known.l22);
    }
  }
  return "";
}

std::vector<Fact> EventFacts(const SamplePlace& place) {
  const Sample& sample = place.input->sample;
  const SampleMetadata& metadata = sample.metadata;
  const std::string& event = place.event_id;
  std::vector<Fact> facts;
  facts.push_back(Fact{.event_id = event,
                       .id_suffix = "NMANINST",
                       .type = "Name of analytical instrument",
                       .type_code = "NMANINST",
                       .value = "FlowCam",
                       .value_uri = NvsUri("L22", "TOOL1583"),
                       .unit = "Not applicable",
                       .unit_code = "XXXX"});
  facts.push_back(Fact{.event_id = event,
                       .id_suffix = "VOLXXXXX",
                       .type = "Volume of sample",
                       .type_code = "VOLXXXXX",
                       .value = Decimal(VolumeMl(*place.input)),
                       .unit = "Millilitres",
                       .unit_code = "VVML",
                       .method = fmt::format("FlowCam \"Fluid Volume Imaged\" (from {})",
                                             VolumeSourceName(sample.volume_source))});
  if (sample.calibration_um_per_px) {
    facts.push_back(Fact{.event_id = event,
                         .id_suffix = "WDPIXEL2",
                         .type = "Width of pixel",
                         .type_code = "WDPIXEL2",
                         .value = Decimal(*sample.calibration_um_per_px),
                         .unit = "Micrometres (microns)",
                         .unit_code = "UMIC",
                         .method = "VisualSpreadsheet calibration factor"});
  }
  if (sample.magnification) {
    facts.push_back(Fact{.event_id = event,
                         .id_suffix = "magnification",
                         .type = "Objective magnification",
                         .value = fmt::format("{:g}x", *sample.magnification),
                         .remarks = "no P01 term found"});
  }
  if (!metadata.gear.empty()) {
    facts.push_back(Fact{.event_id = event,
                         .id_suffix = "NMSPINST",
                         .type = "Name of sampling instrument",
                         .type_code = "NMSPINST",
                         .value = metadata.gear,
                         .value_uri = GearUri(metadata.gear),
                         .unit = "Not applicable",
                         .unit_code = "XXXX"});
  }
  if (metadata.temperature_c) {
    facts.push_back(Fact{.event_id = event,
                         .id_suffix = "TEMPPR01",
                         .type = "Temperature of the water body",
                         .type_code = "TEMPPR01",
                         .value = Decimal(*metadata.temperature_c),
                         .unit = "Degrees Celsius",
                         .unit_code = "UPAA"});
  }
  if (metadata.salinity) {
    facts.push_back(Fact{.event_id = event,
                         .id_suffix = "PSALPR01",
                         .type = "Practical salinity of the water body",
                         .type_code = "PSALPR01",
                         .value = Decimal(*metadata.salinity),
                         .unit = "Dimensionless",
                         .unit_code = "UUUU"});
  }
  return facts;
}

// µm³ per litre to mm³ per m³: 1 µm³ = 1e-9 mm³ and 1 m³ = 1000 L, so × 1e-9 × 1000 = × 1e-6.
constexpr double kMm3PerM3PerUm3PerL = 1e-6;

std::vector<Fact> OccurrenceFacts(const std::string& event_id,
                                  const std::string& occurrence_id,
                                  const Occurrence& occurrence) {
  const Quantities& q = occurrence.quantities;
  const std::string status = occurrence.validated ? "validated by human" : "predicted by machine";
  std::vector<Fact> facts;
  facts.push_back(Fact{.event_id = event_id,
                       .occurrence_id = occurrence_id,
                       .id_suffix = "OCOUNT01",
                       .type = "Count of biological entity specified elsewhere",
                       .type_code = "OCOUNT01",
                       .value = std::to_string(q.cells),
                       .unit = "Dimensionless",
                       .unit_code = "UUUU",
                       .method = "cells counted on FlowCam images (a chain counts its cells)",
                       .remarks = fmt::format("{} imaged particles", q.particles)});
  if (std::isfinite(q.cells_per_l)) {
    facts.push_back(Fact{
        .event_id = event_id,
        .occurrence_id = occurrence_id,
        .id_suffix = "SDBIOL01",
        .type = "Abundance of biological entity specified elsewhere per unit volume of the water "
                "body",
        .type_code = "SDBIOL01",
        .value = Decimal(q.cells_per_l),
        .unit = "Number per litre",
        .unit_code = "UCPL",
        .method = "identified and counted by image analysis and normalised to a unit volume of "
                  "water body (cells / imaged volume x dilution / concentration), " +
                  status});
  }
  // A present occurrence must not carry a quantity of 0 (EMODnet BioCheck): a taxon without a
  // carbon equation (zooplankton) or without measured sizes gets no biovolume / carbon fact.
  if (std::isfinite(q.biovolume_abd_um3_per_l) && q.biovolume_abd_um3_per_l > 0) {
    facts.push_back(Fact{
        .event_id = event_id,
        .occurrence_id = occurrence_id,
        .id_suffix = "CVOLUKNB",
        .type = "Biovolume of biological entity specified elsewhere per unit volume of the water "
                "body",
        .type_code = "CVOLUKNB",
        .value = Decimal(q.biovolume_abd_um3_per_l * kMm3PerM3PerUm3PerL),
        .unit = "Cubic millimetres per cubic metre",
        .unit_code = "CMCM",
        .method = "sum of cell volumes from the area-based diameter (ABD) sphere of each imaged "
                  "particle (a chain of n cells: V/sqrt(n)), normalised to a unit volume of water "
                  "body"});
  }
  if (std::isfinite(q.carbon_ug_per_l) && q.carbon_ug_per_l > 0) {
    const bool diatom = occurrence.taxon->lifeform == Lifeform::kDiatom;
    facts.push_back(Fact{
        .event_id = event_id,
        .occurrence_id = occurrence_id,
        .id_suffix = "SDBIOL12",
        .type = "Biomass as carbon of biological entity specified elsewhere per unit volume of the "
                "water body by computation",
        .type_code = "SDBIOL12",
        // µg per litre is numerically mg per m³ (× 1e-3 mg/µg × 1000 L/m³).
        .value = Decimal(q.carbon_ug_per_l),
        .unit = "Milligrams per cubic metre",
        .unit_code = "UMMC",
        .method = diatom ? "Menden-Deuer & Lessard 2000, diatom equation, per cell, from ABD "
                           "sphere volumes"
                         : "Menden-Deuer & Lessard 2000, protist equation 0.216 V^0.939, per "
                           "cell, from ABD sphere volumes"});
  }
  return facts;
}

// The occurrences of one sample, by AphiaID then status (P before V). Throws for counted classes
// the taxonomy does not know.
std::vector<Occurrence> OccurrencesOf(const DarwinCoreSample& input) {
  std::map<std::pair<int64_t, bool>, Occurrence> by_key;
  std::vector<std::string> unknown;
  for (const TaxonComposition& taxon_composition : input.composition.taxa) {
    const int64_t counted =
        taxon_composition.validated.particles + taxon_composition.predicted.particles;
    if (!taxon_composition.taxon) {
      if (counted > 0 && taxon_composition.name != kUncertainLabel &&
          !taxon_composition.name.empty()) {
        unknown.push_back(taxon_composition.name);
      }
      continue;
    }
    const Taxon& taxon = *taxon_composition.taxon;
    if (!taxon.Living() || !taxon.aphia_id) {
      continue;
    }
    for (const bool validated : {false, true}) {
      const Quantities& part =
          validated ? taxon_composition.validated : taxon_composition.predicted;
      if (part.particles == 0) {
        continue;
      }
      Occurrence& occurrence = by_key[{*taxon.aphia_id, validated}];
      occurrence.aphia_id = *taxon.aphia_id;
      occurrence.validated = validated;
      if (!occurrence.taxon) {
        occurrence.taxon = &*taxon_composition.taxon;
      }
      occurrence.class_names.push_back(taxon_composition.name);
      occurrence.quantities.Add(part);
      if (!validated && taxon_composition.mean_probability) {
        occurrence.probability_sum +=
            *taxon_composition.mean_probability * static_cast<double>(part.particles);
        occurrence.probability_particles += part.particles;
      }
      if (validated) {
        for (const ResolvedLabel& label : input.labels) {
          if (label.status == LabelStatus::kValidated && label.name == taxon_composition.name &&
              !label.identified_by.empty()) {
            occurrence.identified_by.insert(label.identified_by);
          }
        }
      }
    }
  }
  Check(unknown.empty(),
        ErrorCode::kInvalidInput,
        "sample '" + input.sample.id +
            "': classes unknown to the taxonomy: " + Join(unknown, ", ") +
            " (add them to the taxonomy table, see docs/formats/taxonomy.md)");
  std::vector<Occurrence> occurrences;
  for (auto& [key, occurrence] : by_key) {
    std::sort(occurrence.class_names.begin(), occurrence.class_names.end());
    occurrences.push_back(std::move(occurrence));
  }
  return occurrences;
}

std::vector<std::string> OccurrenceValues(const std::string& event_id,
                                          const std::string& occurrence_id,
                                          const Occurrence& occurrence,
                                          const DarwinCoreSample& input,
                                          const std::string& phytoflow_version) {
  const std::string model_id =
      input.model.model_id.empty() ? input.composition.model_id : input.model.model_id;
  const std::string references =
      (input.model.reference.empty() ? "" : input.model.reference + " | ") + "phytoflow " +
      phytoflow_version;
  const int64_t images = occurrence.quantities.particles;
  std::string remarks;
  if (occurrence.validated) {
    remarks = fmt::format("validated by a human expert on {} images", images);
  } else if (occurrence.probability_particles > 0) {
    remarks = fmt::format(
        "classified by {}; mean top-1 probability {:.2f} over {} images",
        model_id,
        occurrence.probability_sum / static_cast<double>(occurrence.probability_particles),
        images);
  } else {
    remarks = fmt::format("classified by {} over {} images", model_id, images);
  }
  const Taxon& taxon = *occurrence.taxon;
  return {event_id,
          occurrence_id,
          "MachineObservation",
          "present",
          taxon.scientific_name,
          taxon.Lsid(),
          taxon.rank,
          taxon.Kingdom(),
          std::to_string(occurrence.quantities.cells),
          "individuals",
          occurrence.validated ? "ValidatedByHuman" : "PredictedByMachine",
          Join({occurrence.identified_by.begin(), occurrence.identified_by.end()}, " | "),
          references,
          remarks,
          Join(occurrence.class_names, " | ")};
}

// ---------------------------------------------------------------------------------------------
// meta.xml and eml.xml

void AppendMetaSection(std::string& xml,
                       const char* element,
                       const char* row_type,
                       const char* location,
                       const std::vector<Column>& columns) {
  const bool core = std::string_view(element) == "core";
  xml += fmt::format(
      "  <{} encoding=\"UTF-8\" fieldsTerminatedBy=\"\\t\" linesTerminatedBy=\"\\n\" "
      "fieldsEnclosedBy=\"\"\n        ignoreHeaderLines=\"1\" rowType=\"{}\">\n",
      element,
      row_type);
  xml += fmt::format("    <files><location>{}</location></files>\n", location);
  xml += core ? "    <id index=\"0\"/>\n" : "    <coreid index=\"0\"/>\n";
  for (size_t i = 0; i < columns.size(); ++i) {
    xml +=
        fmt::format("    <field index=\"{}\" term=\"{}{}\"/>\n", i, columns[i].ns, columns[i].name);
  }
  xml += fmt::format("  </{}>\n", element);
}

std::string MetaXml() {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<archive xmlns=\"http://rs.tdwg.org/dwc/text/\" metadata=\"eml.xml\">\n";
  AppendMetaSection(xml, "core", "http://rs.tdwg.org/dwc/terms/Event", "event.txt", kEventColumns);
  AppendMetaSection(xml,
                    "extension",
                    "http://rs.tdwg.org/dwc/terms/Occurrence",
                    "occurrence.txt",
                    kOccurrenceColumns);
  AppendMetaSection(xml,
                    "extension",
                    "http://rs.iobis.org/obis/terms/ExtendedMeasurementOrFact",
                    "extendedmeasurementorfact.txt",
                    kMeasurementColumns);
  xml += "</archive>\n";
  return xml;
}

std::string PersonXml(const Person& person, const char* element) {
  std::string xml = fmt::format("    <{}>\n", element);
  if (!person.name.empty()) {
    // EML wants a surname; everything before the last word is the given name.
    const size_t space = person.name.find_last_of(' ');
    xml += "      <individualName>";
    if (space != std::string::npos) {
      xml += "<givenName>" + XmlEscape(person.name.substr(0, space)) + "</givenName>";
    }
    xml += "<surName>" +
           XmlEscape(space == std::string::npos ? person.name : person.name.substr(space + 1)) +
           "</surName></individualName>\n";
  }
  if (!person.organization.empty()) {
    xml += "      <organizationName>" + XmlEscape(person.organization) + "</organizationName>\n";
  }
  if (!person.email.empty()) {
    xml += "      <electronicMailAddress>" + XmlEscape(person.email) + "</electronicMailAddress>\n";
  }
  if (!person.orcid.empty()) {
    xml +=
        "      <userId directory=\"https://orcid.org/\">" + XmlEscape(person.orcid) + "</userId>\n";
  }
  xml += fmt::format("    </{}>\n", element);
  return xml;
}

std::string DefaultCitation(const DatasetDescription& dataset) {
  std::vector<std::string> names;
  for (const Person& creator : dataset.creators) {
    names.push_back(PersonLabel(creator));
  }
  const std::string year = dataset.pub_date.empty() ? "n.d." : dataset.pub_date.substr(0, 4);
  return fmt::format("{} ({}). {}.", Join(names, ", "), year, dataset.title);
}

// Paragraphs of a text: separated by blank lines.
std::vector<std::string> Paragraphs(const std::string& text) {
  std::vector<std::string> paragraphs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string paragraph = text.substr(start, end - start);
    while (!paragraph.empty() && (paragraph.back() == '\n' || paragraph.back() == ' ')) {
      paragraph.pop_back();
    }
    while (!paragraph.empty() && (paragraph.front() == '\n' || paragraph.front() == ' ')) {
      paragraph.erase(0, 1);
    }
    if (!paragraph.empty()) {
      paragraphs.push_back(paragraph);
    }
    start = end + 2;
  }
  return paragraphs;
}

struct Coverage {
  double west = 180;
  double east = -180;
  double north = -90;
  double south = 90;
  std::string first_date;
  std::string last_date;
  std::map<std::string, std::string> taxa;  // scientific name → rank
};

std::string EmlXml(const DatasetDescription& dataset,
                   const Coverage& coverage,
                   const std::string& package_id) {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<eml:eml xmlns:eml=\"eml://ecoinformatics.org/eml-2.1.1\" "
      "xmlns:dc=\"http://purl.org/dc/terms/\"\n"
      "  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
      "  xsi:schemaLocation=\"eml://ecoinformatics.org/eml-2.1.1 "
      "http://rs.gbif.org/schema/eml-gbif-profile/1.1/eml.xsd\"\n";
  xml += fmt::format(
      "  packageId=\"{}\" system=\"http://gbif.org\" scope=\"system\" xml:lang=\"{}\">\n",
      XmlEscape(package_id),
      XmlEscape(dataset.language));
  xml += "  <dataset>\n";
  xml += fmt::format("    <title xml:lang=\"{}\">{}</title>\n",
                     XmlEscape(dataset.language),
                     XmlEscape(dataset.title));
  for (const Person& creator : dataset.creators) {
    xml += PersonXml(creator, "creator");
  }
  xml += PersonXml(dataset.contact, "metadataProvider");
  if (!dataset.pub_date.empty()) {
    xml += "    <pubDate>" + XmlEscape(dataset.pub_date) + "</pubDate>\n";
  }
  xml += "    <language>" + XmlEscape(dataset.language) + "</language>\n";
  xml += "    <abstract>\n";
  for (const std::string& paragraph : Paragraphs(dataset.abstract)) {
    xml += "      <para>" + XmlEscape(paragraph) + "</para>\n";
  }
  xml += "    </abstract>\n";
  xml +=
      "    <keywordSet>\n"
      "      <keyword>Occurrence</keyword>\n"
      "      <keyword>Observation</keyword>\n"
      "      <keywordThesaurus>GBIF Dataset Type Vocabulary: "
      "http://rs.gbif.org/vocabulary/gbif/dataset_type.xml</keywordThesaurus>\n"
      "    </keywordSet>\n"
      // OBIS harvests datasets whose additionalInfo says so.
      "    <additionalInfo><para>marine, harvested by iOBIS</para></additionalInfo>\n";
  xml += fmt::format(
      "    <intellectualRights><para>This work is licensed under a <ulink url=\"{}\"><citetitle>{}"
      "</citetitle></ulink>.</para></intellectualRights>\n",
      XmlEscape(dataset.license_url),
      XmlEscape(dataset.license_name));
  xml += "    <coverage>\n";
  xml += "      <geographicCoverage>\n";
  xml += "        <geographicDescription>" +
         XmlEscape(dataset.geographic_description.empty() ? "Bounding box of the sampling positions"
                                                          : dataset.geographic_description) +
         "</geographicDescription>\n";
  xml += fmt::format(
      "        <boundingCoordinates>\n"
      "          <westBoundingCoordinate>{}</westBoundingCoordinate>\n"
      "          <eastBoundingCoordinate>{}</eastBoundingCoordinate>\n"
      "          <northBoundingCoordinate>{}</northBoundingCoordinate>\n"
      "          <southBoundingCoordinate>{}</southBoundingCoordinate>\n"
      "        </boundingCoordinates>\n",
      Coordinate(coverage.west),
      Coordinate(coverage.east),
      Coordinate(coverage.north),
      Coordinate(coverage.south));
  xml += "      </geographicCoverage>\n";
  xml += fmt::format(
      "      <temporalCoverage>\n"
      "        <rangeOfDates>\n"
      "          <beginDate><calendarDate>{}</calendarDate></beginDate>\n"
      "          <endDate><calendarDate>{}</calendarDate></endDate>\n"
      "        </rangeOfDates>\n"
      "      </temporalCoverage>\n",
      XmlEscape(coverage.first_date),
      XmlEscape(coverage.last_date));
  if (!coverage.taxa.empty()) {
    xml += "      <taxonomicCoverage>\n";
    for (const auto& [name, rank] : coverage.taxa) {
      xml += "        <taxonomicClassification>";
      if (!rank.empty()) {
        xml += "<taxonRankName>" + XmlEscape(rank) + "</taxonRankName>";
      }
      xml += "<taxonRankValue>" + XmlEscape(name) + "</taxonRankValue></taxonomicClassification>\n";
    }
    xml += "      </taxonomicCoverage>\n";
  }
  xml += "    </coverage>\n";
  xml += PersonXml(dataset.contact, "contact");
  xml += "  </dataset>\n";
  xml += "  <additionalMetadata>\n    <metadata>\n      <gbif>\n";
  if (!dataset.pub_date.empty()) {
    xml += "        <dateStamp>" + XmlEscape(dataset.pub_date) + "T00:00:00Z</dateStamp>\n";
  }
  xml += "        <citation>" +
         XmlEscape(dataset.citation.empty() ? DefaultCitation(dataset) : dataset.citation) +
         "</citation>\n";
  xml += "      </gbif>\n    </metadata>\n  </additionalMetadata>\n";
  xml += "</eml:eml>\n";
  return xml;
}

// A name-based UUID (version 8, RFC 9562) from two FNV-1a hashes of the archive's tables: the
// same content gives the same package id.
std::string ContentUuid(const std::vector<std::string>& texts) {
  uint64_t high = 14695981039346656037ull;
  uint64_t low = 14695981039346656037ull ^ 0x9e3779b97f4a7c15ull;
  for (const std::string& text : texts) {
    for (const char c : text) {
      high = (high ^ static_cast<uint8_t>(c)) * 1099511628211ull;
      low = (low ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    }
    high = (high ^ 0xff) * 1099511628211ull;  // separates the texts
    low = (low ^ 0xff) * 1099511628211ull;
  }
  high = (high & ~0xf000ull) | 0x8000ull;                          // version 8
  low = (low & ~(0xc000000000000000ull)) | 0x8000000000000000ull;  // variant 10
  return fmt::format("urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                     high >> 32,
                     (high >> 16) & 0xffff,
                     high & 0xffff,
                     low >> 48,
                     low & 0xffffffffffffull);
}

}  // namespace

DatasetDescription ParseDatasetDescription(const std::string& json_text,
                                           const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& error) {
    throw Error(ErrorCode::kInvalidInput,
                source + ": not valid JSON (" + std::string(error.what()) + ")");
  }
  Check(root.is_object(),
        ErrorCode::kInvalidInput,
        source + ": expected a JSON object, found " + JsonTypeName(root));
  for (const auto& [key, ignored] : root.items()) {
    Check(kDatasetFields.contains(key),
          ErrorCode::kInvalidInput,
          source + ": field '" + key + "': unknown (see docs/formats/darwin-core.md)");
  }
  const std::string where = source + ": field '";
  DatasetDescription dataset;
  dataset.title = StringField(root, "title", where, "");
  dataset.abstract = StringField(root, "abstract", where, "");
  dataset.license_url = StringField(root, "license_url", where, dataset.license_url);
  dataset.license_name = StringField(root, "license_name", where, dataset.license_name);
  dataset.institution_code = StringField(root, "institution_code", where, "");
  dataset.dataset_name = StringField(root, "dataset_name", where, "");
  dataset.citation = StringField(root, "citation", where, "");
  dataset.geographic_description = StringField(root, "geographic_description", where, "");
  dataset.package_id = StringField(root, "package_id", where, "");
  dataset.pub_date = StringField(root, "pub_date", where, "");
  dataset.language = StringField(root, "language", where, dataset.language);

  Check(!dataset.title.empty(), ErrorCode::kInvalidInput, where + "title': missing or empty");
  Check(!dataset.abstract.empty(), ErrorCode::kInvalidInput, where + "abstract': missing or empty");
  Check(dataset.license_url.starts_with("http://") || dataset.license_url.starts_with("https://"),
        ErrorCode::kInvalidInput,
        where + "license_url': expected an http(s) URL, found '" + dataset.license_url + "'");
  Check(!dataset.license_name.empty(), ErrorCode::kInvalidInput, where + "license_name': empty");
  Check(dataset.pub_date.empty() || IsIsoDate(dataset.pub_date),
        ErrorCode::kInvalidInput,
        where + "pub_date': expected YYYY-MM-DD, found '" + dataset.pub_date + "'");
  Check(!dataset.language.empty(), ErrorCode::kInvalidInput, where + "language': empty");

  const auto creators = root.find("creators");
  Check(creators != root.end() && creators->is_array() && !creators->empty(),
        ErrorCode::kInvalidInput,
        where + "creators': expected a non-empty array of people");
  for (size_t i = 0; i < creators->size(); ++i) {
    dataset.creators.push_back(
        ParsePerson((*creators)[i], source, "creators[" + std::to_string(i) + "]"));
  }
  const auto contact = root.find("contact");
  Check(contact != root.end(), ErrorCode::kInvalidInput, where + "contact': missing");
  dataset.contact = ParsePerson(*contact, source, "contact");
  return dataset;
}

DatasetDescription PlaceholderDatasetDescription() {
  const Person unknown{.organization = "not given (placeholder: pass --dataset dataset.json)"};
  return DatasetDescription{
      .title = "FlowCam plankton composition exported by phytoflow",
      .abstract =
          "Counts, abundances, biovolumes and carbon of plankton taxa imaged with a FlowCam "
          "and classified with phytoflow. Placeholder description: replace it with a "
          "dataset.json before publishing.",
      .creators = {unknown},
      .contact = unknown};
}

void RequireDarwinCoreFields(const std::vector<Sample>& samples) {
  std::vector<std::string> problems;
  for (const Sample& sample : samples) {
    std::vector<std::string> missing;
    if (!sample.metadata.latitude) {
      missing.push_back("latitude");
    }
    if (!sample.metadata.longitude) {
      missing.push_back("longitude");
    }
    if (sample.metadata.sampled_at.empty()) {
      missing.push_back("sampled_at");
    }
    if (!sample.volume_imaged_ml || !(*sample.volume_imaged_ml > 0)) {
      missing.push_back("volume_imaged_ml");
    }
    if (!missing.empty()) {
      problems.push_back("sample '" + sample.id + "' lacks " + Join(missing, ", "));
    }
  }
  Check(problems.empty(),
        ErrorCode::kInvalidInput,
        "Darwin Core needs the position, time and imaged volume of every sample: " +
            Join(problems, "; ") + " (set them with `phytoflow metadata set`)");
}

std::vector<DarwinCoreFile> BuildDarwinCoreArchive(const DatasetDescription& dataset,
                                                   const std::vector<DarwinCoreSample>& samples,
                                                   const std::string& phytoflow_version) {
  Check(!samples.empty(), ErrorCode::kInvalidInput, "Darwin Core: no samples to export");
  std::vector<Sample> checked;
  for (const DarwinCoreSample& input : samples) {
    checked.push_back(input.sample);
    if (input.composition.volume_imaged_ml) {
      checked.back().volume_imaged_ml = input.composition.volume_imaged_ml;
    }
  }
  RequireDarwinCoreFields(checked);

  std::vector<SamplePlace> places;
  std::vector<std::vector<Occurrence>> occurrences;  // aligned with `places` after sorting
  for (const DarwinCoreSample& input : samples) {
    places.push_back(PlaceOf(input));
  }
  std::sort(places.begin(), places.end(), [](const SamplePlace& a, const SamplePlace& b) {
    return std::tie(a.campaign_id, a.visit_id, a.event_id) <
           std::tie(b.campaign_id, b.visit_id, b.event_id);
  });
  for (size_t i = 1; i < places.size(); ++i) {
    Check(places[i].event_id != places[i - 1].event_id,
          ErrorCode::kInvalidInput,
          "samples '" + places[i - 1].input->sample.id + "' and '" + places[i].input->sample.id +
              "' would get the same event id '" + places[i].event_id + "'");
  }
  for (const SamplePlace& place : places) {
    occurrences.push_back(OccurrencesOf(*place.input));
  }

  std::map<std::string, std::vector<const SamplePlace*>> campaigns;
  std::map<std::string, std::vector<const SamplePlace*>> visits;
  // Two different campaign (or station) names must not become one event because they differ
  // only in characters an id cannot hold ("BPNS 2024" and "BPNS/2024").
  std::map<std::string, std::string> campaign_name_of_id;
  std::map<std::string, std::string> station_name_of_id;
  const auto check_same_name = [](std::map<std::string, std::string>& name_of_id,
                                  const std::string& id,
                                  const std::string& name,
                                  std::string_view what) {
    const auto [known, added] = name_of_id.emplace(id, name);
    Check(added || known->second == name,
          ErrorCode::kInvalidInput,
          fmt::format("the {}s '{}' and '{}' would get the same event id '{}': rename one of them "
                      "(phytoflow metadata set)",
                      what,
                      known->second,
                      name,
                      id));
  };
  for (const SamplePlace& place : places) {
    const SampleMetadata& metadata = place.input->sample.metadata;
    if (!place.campaign_id.empty()) {
      check_same_name(campaign_name_of_id, place.campaign_id, metadata.campaign, "campaign");
      campaigns[place.campaign_id].push_back(&place);
    }
    if (!place.visit_id.empty()) {
      check_same_name(station_name_of_id, place.visit_id, metadata.station, "station");
      visits[place.visit_id].push_back(&place);
    }
  }

  Table events(kEventColumns);
  Table occurrence_table(kOccurrenceColumns);
  Table measurements(kMeasurementColumns);
  Coverage coverage;
  std::set<std::string> event_ids;
  const auto add_event = [&](const EventRow& event) {
    Check(event_ids.insert(event.id).second,
          ErrorCode::kInvalidInput,
          "two events would get the id '" + event.id +
              "' (campaign, station and sample ids "
              "clash after removing characters outside A-Z a-z 0-9 _ . -)");
    events.Add(EventValues(event, dataset));
  };
  std::string current_campaign;
  std::string current_visit;
  for (size_t i = 0; i < places.size(); ++i) {
    const SamplePlace& place = places[i];
    if (!place.campaign_id.empty() && place.campaign_id != current_campaign) {
      add_event(CampaignEvent(campaigns[place.campaign_id]));
    }
    current_campaign = place.campaign_id;
    if (!place.visit_id.empty() && place.visit_id != current_visit) {
      add_event(VisitEvent(visits[place.visit_id]));
    }
    current_visit = place.visit_id;
    add_event(SampleEvent(place));
    for (const Fact& fact : EventFacts(place)) {
      measurements.Add(FactValues(fact));
    }

    for (const Occurrence& occurrence : occurrences[i]) {
      const std::string occurrence_id = fmt::format(
          "{}_{}_{}", place.event_id, occurrence.validated ? "V" : "P", occurrence.aphia_id);
      occurrence_table.Add(OccurrenceValues(
          place.event_id, occurrence_id, occurrence, *place.input, phytoflow_version));
      for (const Fact& fact : OccurrenceFacts(place.event_id, occurrence_id, occurrence)) {
        measurements.Add(FactValues(fact));
      }
      coverage.taxa[occurrence.taxon->scientific_name] = occurrence.taxon->rank;
    }

    const SampleMetadata& metadata = place.input->sample.metadata;
    coverage.west = std::min(coverage.west, *metadata.longitude);
    coverage.east = std::max(coverage.east, *metadata.longitude);
    coverage.south = std::min(coverage.south, *metadata.latitude);
    coverage.north = std::max(coverage.north, *metadata.latitude);
    const std::string date = DateOf(metadata.sampled_at);
    if (coverage.first_date.empty() || date < coverage.first_date) {
      coverage.first_date = date;
    }
    coverage.last_date = std::max(coverage.last_date, date);
  }

  const std::string package_id =
      dataset.package_id.empty()
          ? ContentUuid(
                {dataset.title, events.Text(), occurrence_table.Text(), measurements.Text()})
          : dataset.package_id;
  return {{"event.txt", events.Text()},
          {"occurrence.txt", occurrence_table.Text()},
          {"extendedmeasurementorfact.txt", measurements.Text()},
          {"meta.xml", MetaXml()},
          {"eml.xml", EmlXml(dataset, coverage, package_id)}};
}

}  // namespace phytoflow
