#!/usr/bin/env python3
"""Checks a Darwin Core Archive as OBIS / EMODnet Biology would, independently of phytoflow.

    tests/tools/validate_dwca.py ARCHIVE.zip [--quiet]

Two checks, both must pass:
  1. python-dwca-reader (PyPI `python-dwca-reader`, installed by scripts/setup) opens the
     archive, reads meta.xml and eml.xml, iterates every core row with its extension rows and
     finds no orphaned extension row.
  2. The "Testable checklist" of ../shared/spec/darwin-core.md §1.9, implemented here from the
     text of the archive: files and rowTypes, column counts, unique and resolvable ids, ISO 8601
     dates (the obistools regex), WoRMS LSIDs, basisOfRecord, verification status, NVS codes
     from a pinned list (never Q01), no duplicate (id, measurementTypeID), SDBIOL01 > 0 for
     present occurrences, no non-living names, and the EML title, abstract, creator, contact
     and licence.

Exit status: 0 when the archive passes, 1 with one line per violation otherwise, 3 when
python-dwca-reader is not installed.
"""

import re
import sys
import xml.etree.ElementTree as ET
import zipfile

try:
    from dwca.read import DwCAReader
except ImportError:
    print("validate_dwca: python-dwca-reader is not installed (scripts/setup installs it: "
          "python3 -m pip install python-dwca-reader)", file=sys.stderr)
    sys.exit(3)

DWC = "http://rs.tdwg.org/dwc/terms/"
OBIS = "http://rs.iobis.org/obis/terms/"
TEXT_NS = "{http://rs.tdwg.org/dwc/text/}"
EVENT = DWC + "Event"
OCCURRENCE = DWC + "Occurrence"
EMOF = OBIS + "ExtendedMeasurementOrFact"

# The NVS codes that ../shared/spec/darwin-core.md names (§1.4, 1.4.1, 1.7, 1.8), all
# deprecated=false in its 2026-01 copy of the vocabulary server.
PINNED_CODES = {
    "P01": {
        "OCOUNT01", "SDBIOL01", "CVOLUKNB", "SDBIOL13", "SDBIOL14", "SDBIOL12", "CVOLZZ01",
        "OBSINESD", "VOLBPESD", "OBSINDLX", "ESEWID01", "LSTAGE01", "NMSPINST", "NMANINST",
        "NMANSOFT", "SERNUMZZ", "VOLXXXXX", "VOLWBSMP", "SSAMPC01", "DSPSSP01", "DSSPPRMT",
        "SAMPPROT", "DSSPMT01", "MSHSIZE1", "DSAMPA01", "SZCLBIO1", "WDPIXEL2", "HTPIXEL2",
        "NMSPPF01", "TEMPPR01", "PSALPR01", "MTHAREA1",
    },
    "P06": {
        "UCPL", "UCML", "UPMM", "CMCM", "CUPL", "UCUM", "UMCU", "UMMC", "UGPL", "UUUU", "XXXX",
        "ULIT", "VVML", "MCUB", "UMIC", "UXMM", "PIXY", "ULAA", "UPAA", "CMM3", "UMSQ",
    },
    "L22": {
        "TOOL1583", "TOOL0978", "TOOL0979", "TOOL1588", "TOOL1209", "TOOL1582", "TOOL1581",
        "TOOL1577", "TOOL1578", "TOOL1579", "TOOL1844",
    },
    "C17": {"11SS"},
    "S11": {"S1116", "S1131"},
}
NVS_URI = re.compile(r"^http://vocab\.nerc\.ac\.uk/collection/([A-Z0-9]+)/current/([A-Za-z0-9]+)/$")
# Which collections each ID column may use.
NVS_COLUMNS = {
    "measurementTypeID": {"P01"},
    "measurementUnitID": {"P06"},
    "measurementValueID": {"L22", "C17", "S11"},
}

# obistools R/check_eventdate.R
ISO_DATE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}([T|\s]\d{2}(:\d{2}(:\d{2})?)?(Z|([+-]\d{2}:?(\d{2})?))?)?)?)?$")
LSID = re.compile(r"^urn:lsid:marinespecies\.org:taxname:\d+$")
BASIS_OF_RECORD = {"MachineObservation"}
VERIFICATION_STATUS = {"PredictedByMachine", "ValidatedByHuman"}
OCCURRENCE_STATUS = {"present", "absent"}
# Biological quantities of an occurrence, which must be > 0 when it is present.
QUANTITY_CODES = ("OCOUNT01", "SDBIOL01", "CVOLUKNB", "SDBIOL12", "SDBIOL13", "SDBIOL14", "CVOLZZ01")
# Words of non-living or non-taxon classifier categories (spec §1.3 and the usual FlowCam
# classes); none may name an occurrence.
NON_LIVING_WORDS = {
    "detritus", "debris", "bubble", "bubbles", "bead", "beads", "junk", "uncertain", "artefact",
    "artifact", "artefacts", "artifacts", "notapplicable", "nonliving", "dead", "unidentifiable",
    "unknown", "blurry", "fiber", "fibre", "fibers", "fibres", "pollen",
}
NON_LIVING_PHRASES = {"camera spot", "fecal pellet", "faecal pellet", "not living", "non living",
                      "non-living"}


class Violations:
    def __init__(self):
        self.items = []

    def add(self, message):
        self.items.append(message)


def local(term):
    return term.rsplit("/", 1)[-1]


def parse_meta(text, violations):
    """The core and extension sections of meta.xml as dicts."""
    sections = []
    root = ET.fromstring(text)
    if root.tag != TEXT_NS + "archive":
        violations.add(f"meta.xml: root element is {root.tag}, expected {TEXT_NS}archive")
    for element in root:
        kind = element.tag.replace(TEXT_NS, "")
        if kind not in ("core", "extension"):
            continue
        location = element.find(f"{TEXT_NS}files/{TEXT_NS}location")
        id_element = element.find(TEXT_NS + ("id" if kind == "core" else "coreid"))
        fields = {}
        for field in element.findall(TEXT_NS + "field"):
            if field.get("index") is None:
                continue
            fields[int(field.get("index"))] = field.get("term")
        separator = element.get("fieldsTerminatedBy", ",").encode().decode("unicode_escape")
        sections.append({
            "kind": kind,
            "rowType": element.get("rowType"),
            "location": location.text if location is not None else None,
            "id_index": int(id_element.get("index")) if id_element is not None else None,
            "fields": fields,
            "separator": separator,
            "ignore": int(element.get("ignoreHeaderLines", "0")),
            "enclosed": element.get("fieldsEnclosedBy", '"'),
        })
    return sections


def read_table(archive, section, violations):
    """Rows of one data file as dicts by term local name, with their 1-based line numbers."""
    name = section["location"]
    if name not in archive.namelist():
        violations.add(f"meta.xml: <location>{name}</location> is not in the archive")
        return []
    text = archive.read(name).decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if section["enclosed"] != "":
        violations.add(f"meta.xml: {name}: fieldsEnclosedBy should be empty for our TSV files")
    if section["separator"] != "\t":
        violations.add(f"meta.xml: {name}: fieldsTerminatedBy should be a tab")
    if section["ignore"] != 1 or not lines:
        violations.add(f"{name}: expected one header line")
        return []
    header = lines[0].split("\t")
    for index, term in section["fields"].items():
        if index >= len(header):
            violations.add(f"meta.xml: {name}: field {index} ({term}) beyond the {len(header)} columns")
        elif header[index] != local(term):
            violations.add(f"{name}: column {index} is '{header[index]}', meta.xml says {term}")
    if len(section["fields"]) != len(header):
        violations.add(f"{name}: {len(header)} columns but meta.xml describes {len(section['fields'])}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.split("\t")
        if len(values) != len(header):
            violations.add(f"{name}:{number}: {len(values)} fields, the header has {len(header)}")
            continue
        row = {local(term): values[index] for index, term in section["fields"].items()
               if index < len(values)}
        row["_line"] = number
        rows.append(row)
    return rows


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def check_events(events, violations):
    ids = set()
    for row in events:
        where = f"event.txt:{row['_line']}"
        event_id = row.get("eventID", "")
        if not event_id:
            violations.add(f"{where}: empty eventID")
        elif event_id in ids:
            violations.add(f"{where}: eventID '{event_id}' is not unique")
        ids.add(event_id)
    for row in events:
        where = f"event.txt:{row['_line']}"
        parent = row.get("parentEventID", "")
        if parent and parent not in ids:
            violations.add(f"{where}: parentEventID '{parent}' is not an eventID")
        date = row.get("eventDate", "")
        parts = date.split("/")
        if not date or len(parts) > 2 or not all(ISO_DATE.match(part) for part in parts):
            violations.add(f"{where}: eventDate '{date}' is not ISO 8601 (a date or start/end)")
        latitude, longitude = row.get("decimalLatitude", ""), row.get("decimalLongitude", "")
        if latitude or longitude:
            lat, lon = number(latitude), number(longitude)
            if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
                violations.add(f"{where}: coordinates '{latitude}', '{longitude}' out of range")
            elif lat == 0 and lon == 0:
                violations.add(f"{where}: coordinates 0, 0")
        low, high = row.get("minimumDepthInMeters", ""), row.get("maximumDepthInMeters", "")
        for depth in (low, high):
            if depth and number(depth) is None:
                violations.add(f"{where}: depth '{depth}' is not a number")
        if low and high and number(low) is not None and number(high) is not None \
                and number(low) > number(high):
            violations.add(f"{where}: minimumDepthInMeters {low} > maximumDepthInMeters {high}")
    return ids


def non_living(name):
    lower = name.lower()
    words = set(re.split(r"[^a-z]+", lower))
    return bool(words & NON_LIVING_WORDS) or any(phrase in lower for phrase in NON_LIVING_PHRASES)


def check_occurrences(occurrences, events_by_id, violations):
    ids = {}
    for row in occurrences:
        where = f"occurrence.txt:{row['_line']}"
        occurrence_id = row.get("occurrenceID", "")
        if not occurrence_id:
            violations.add(f"{where}: empty occurrenceID")
        elif occurrence_id in ids:
            violations.add(f"{where}: occurrenceID '{occurrence_id}' is not unique")
        ids[occurrence_id] = row
        event = events_by_id.get(row.get("eventID", ""))
        if event is None:
            violations.add(f"{where}: eventID '{row.get('eventID', '')}' is not in event.txt")
        else:
            for term in ("eventDate", "decimalLatitude", "decimalLongitude"):
                if not event.get(term):
                    violations.add(f"{where}: its event '{event['eventID']}' has no {term}")
        if row.get("basisOfRecord") not in BASIS_OF_RECORD:
            violations.add(f"{where}: basisOfRecord '{row.get('basisOfRecord')}' is not MachineObservation")
        if row.get("occurrenceStatus") not in OCCURRENCE_STATUS:
            violations.add(f"{where}: occurrenceStatus '{row.get('occurrenceStatus')}'")
        if row.get("identificationVerificationStatus") not in VERIFICATION_STATUS:
            violations.add(f"{where}: identificationVerificationStatus "
                           f"'{row.get('identificationVerificationStatus')}'")
        if not row.get("scientificName"):
            violations.add(f"{where}: empty scientificName")
        if not LSID.match(row.get("scientificNameID", "")):
            violations.add(f"{where}: scientificNameID '{row.get('scientificNameID')}' is not a WoRMS LSID")
        for term in ("scientificName", "verbatimIdentification"):
            if non_living(row.get(term, "")):
                violations.add(f"{where}: {term} '{row.get(term)}' names a non-living category")
        if row.get("organismQuantity") and not row.get("organismQuantityType"):
            violations.add(f"{where}: organismQuantity without organismQuantityType")
    return ids


def check_measurements(measurements, event_ids, occurrences_by_id, violations):
    measurement_ids = set()
    owner_types = set()
    abundance = {}
    quantities = []  # (where, occurrenceID, measurementTypeID, value) of biological quantities
    for row in measurements:
        where = f"extendedmeasurementorfact.txt:{row['_line']}"
        event_id = row.get("eventID", "")
        occurrence_id = row.get("occurrenceID", "")
        if event_id not in event_ids:
            violations.add(f"{where}: eventID '{event_id}' is not in event.txt")
        if occurrence_id:
            occurrence = occurrences_by_id.get(occurrence_id)
            if occurrence is None:
                violations.add(f"{where}: occurrenceID '{occurrence_id}' is not in occurrence.txt")
            elif occurrence.get("eventID") != event_id:
                violations.add(f"{where}: eventID '{event_id}' differs from its occurrence's "
                               f"'{occurrence.get('eventID')}'")
        measurement_id = row.get("measurementID", "")
        if measurement_id:
            if measurement_id in measurement_ids:
                violations.add(f"{where}: measurementID '{measurement_id}' is not unique")
            measurement_ids.add(measurement_id)
        if not row.get("measurementValue"):
            violations.add(f"{where}: empty measurementValue")
        type_key = row.get("measurementTypeID") or row.get("measurementType", "")
        owner = (occurrence_id or event_id, type_key)
        if owner in owner_types:
            violations.add(f"{where}: a second {type_key} for '{owner[0]}'")
        owner_types.add(owner)
        for column, collections in NVS_COLUMNS.items():
            uri = row.get(column, "")
            if not uri:
                continue
            match = NVS_URI.match(uri)
            if not match:
                violations.add(f"{where}: {column} '{uri}' is not an NVS concept URI")
                continue
            collection, code = match.groups()
            if collection == "Q01":
                violations.add(f"{where}: {column} '{uri}' is in the deprecated Q01 collection")
            elif collection not in collections:
                violations.add(f"{where}: {column} '{uri}' should be from {sorted(collections)}")
            elif code not in PINNED_CODES.get(collection, set()):
                violations.add(f"{where}: {column} '{uri}' is not in the pinned list of codes")
        if row.get("measurementTypeID", "").endswith("/SDBIOL01/") and occurrence_id:
            abundance[occurrence_id] = number(row.get("measurementValue", ""))
        type_id = row.get("measurementTypeID", "")
        if occurrence_id and any(type_id.endswith(f"/{code}/") for code in QUANTITY_CODES):
            quantities.append((where, occurrence_id, type_id, number(row.get("measurementValue", ""))))
    # EMODnet BioCheck: a biological quantity of 0 on a present occurrence is an error.
    for where, occurrence_id, type_id, value in quantities:
        occurrence = occurrences_by_id.get(occurrence_id)
        if occurrence and occurrence.get("occurrenceStatus") == "present" and not (value and value > 0):
            violations.add(f"{where}: {type_id} of present occurrence '{occurrence_id}' is not > 0")
    for occurrence_id, occurrence in occurrences_by_id.items():
        if occurrence.get("occurrenceStatus") != "present":
            continue
        value = abundance.get(occurrence_id)
        if value is None or not value > 0:
            violations.add(f"occurrence.txt:{occurrence['_line']}: present occurrence "
                           f"'{occurrence_id}' has no SDBIOL01 abundance > 0")


def text_of(element):
    return "".join(element.itertext()).strip() if element is not None else ""


def check_eml(text, violations):
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        violations.add(f"eml.xml: not well-formed XML ({error})")
        return
    dataset = root.find("dataset")
    if dataset is None:
        violations.add("eml.xml: no <dataset>")
        return
    if len(text_of(dataset.find("title"))) < 5:
        violations.add("eml.xml: title missing or too short")
    if not text_of(dataset.find("abstract")):
        violations.add("eml.xml: abstract missing")
    for role in ("creator", "contact"):
        people = dataset.findall(role)
        if not people:
            violations.add(f"eml.xml: no {role}")
        for person in people:
            if not (text_of(person.find("individualName/surName")) or
                    text_of(person.find("organizationName"))):
                violations.add(f"eml.xml: a {role} without surName or organizationName")
    rights = dataset.find("intellectualRights")
    licence = rights.find(".//ulink") if rights is not None else None
    if licence is None or not licence.get("url", "").startswith("http"):
        violations.add("eml.xml: no licence (intellectualRights with a ulink url)")
    pub_date = text_of(dataset.find("pubDate"))
    if pub_date and not re.match(r"^\d{4}-\d{2}-\d{2}$", pub_date):
        violations.add(f"eml.xml: pubDate '{pub_date}' is not YYYY-MM-DD")
    if "iOBIS" not in text_of(dataset.find("additionalInfo")):
        violations.add("eml.xml: additionalInfo does not say 'marine, harvested by iOBIS'")


def check_with_dwca_reader(path, counts, violations):
    """python-dwca-reader's view must agree with ours."""
    try:
        with DwCAReader(path) as dwca:
            if dwca.descriptor is None:
                violations.add("dwca-reader: no archive descriptor")
                return
            if dwca.descriptor.core.type != EVENT:
                violations.add(f"dwca-reader: core rowType is {dwca.descriptor.core.type}")
            types = [extension.type for extension in dwca.descriptor.extensions]
            if sorted(types) != sorted([OCCURRENCE, EMOF]):
                violations.add(f"dwca-reader: extension rowTypes {types}")
            if dwca.metadata is None:
                violations.add("dwca-reader: could not read eml.xml")
            core_rows = 0
            extension_rows = 0
            for row in dwca:
                core_rows += 1
                extension_rows += len(row.extensions)
            if core_rows != counts["events"]:
                violations.add(f"dwca-reader: {core_rows} core rows, event.txt has {counts['events']}")
            expected = counts["occurrences"] + counts["measurements"]
            if extension_rows != expected:
                violations.add(f"dwca-reader: {extension_rows} extension rows linked to core rows, "
                               f"expected {expected}")
            for location, orphans in dwca.orphaned_extension_rows().items():
                for core_id in orphans:
                    violations.add(f"dwca-reader: {location} rows point to missing core id '{core_id}'")
    except Exception as error:  # any failure of the reader is a finding
        violations.add(f"dwca-reader: cannot read the archive ({type(error).__name__}: {error})")


def validate(path):
    violations = Violations()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"{path}: not a readable zip ({error})"], {}
    names = set(archive.namelist())
    for required in ("meta.xml", "eml.xml", "event.txt", "occurrence.txt",
                     "extendedmeasurementorfact.txt"):
        if required not in names:
            violations.add(f"{path}: no {required}")
    if "meta.xml" not in names:
        return violations.items, {}
    sections = parse_meta(archive.read("meta.xml").decode("utf-8"), violations)
    by_type = {section["rowType"]: section for section in sections}
    cores = [section for section in sections if section["kind"] == "core"]
    if len(cores) != 1 or cores[0]["rowType"] != EVENT:
        violations.add("meta.xml: the core must be one Event section")
    for row_type in (OCCURRENCE, EMOF):
        if row_type not in by_type or by_type[row_type]["kind"] != "extension":
            violations.add(f"meta.xml: no extension {row_type}")
    for section in sections:
        if section["id_index"] != 0 or local(section["fields"].get(0, "")) != "eventID":
            violations.add(f"meta.xml: {section['location']}: the (core)id must be column 0, eventID")

    tables = {row_type: read_table(archive, section, violations) if section["location"] else []
              for row_type, section in by_type.items()}
    events = tables.get(EVENT, [])
    occurrences = tables.get(OCCURRENCE, [])
    measurements = tables.get(EMOF, [])
    event_ids = check_events(events, violations)
    events_by_id = {row["eventID"]: row for row in events}
    occurrences_by_id = check_occurrences(occurrences, events_by_id, violations)
    check_measurements(measurements, event_ids, occurrences_by_id, violations)
    if "eml.xml" in names:
        check_eml(archive.read("eml.xml").decode("utf-8"), violations)
    counts = {"events": len(events), "occurrences": len(occurrences),
              "measurements": len(measurements)}
    check_with_dwca_reader(path, counts, violations)
    return violations.items, counts


def main(argv):
    paths = [arg for arg in argv[1:] if not arg.startswith("--")]
    quiet = "--quiet" in argv
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    violations, counts = validate(paths[0])
    if violations:
        for violation in violations:
            print(violation)
        print(f"validate_dwca: {len(violations)} violation(s) in {paths[0]}", file=sys.stderr)
        return 1
    if not quiet:
        print(f"validate_dwca: ok: {counts['events']} events, {counts['occurrences']} occurrences, "
              f"{counts['measurements']} measurements")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
