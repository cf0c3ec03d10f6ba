# Writes the BOM-carrying sample ontologies of tests/data/ontologies (issue 13): run
# `python3 generate.py .` in that folder. Each file starts with a UTF-8 byte order mark, as every
# file of the ontologies published for Azure Digital Twins does. Written for Doppel, not copied.
import json, os, sys
root = sys.argv[1]
def w(rel, doc):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8-sig", newline="\r\n" if "crlf" in rel else "\n") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

V3 = "dtmi:dtdl:context;3"
QT = "dtmi:dtdl:extension:quantitativeTypes;1"
V2 = "dtmi:dtdl:context;2"
en = lambda s: {"en": s}

# --- building: RealEstateCore-like, DTDL v3 with the quantitative types extension ---------------
B = "dtmi:doppel:sample:rec:"
w("building/Space/Space.json", {
  "@context": [V3, QT], "@id": B+"Space;1", "@type": "Interface",
  "displayName": en("Space"), "description": en("A contiguous part of the physical world that holds assets and people."),
  "contents": [
    {"@type": "Property", "name": "name", "schema": "string", "displayName": en("name")},
    {"@type": ["Property", "Area"], "name": "grossArea", "schema": "double", "unit": "squareMetre", "displayName": en("gross area")},
    {"@type": "Property", "name": "customTags", "displayName": en("custom tags"),
     "schema": {"@type": "Map", "mapKey": {"name": "tagName", "schema": "string"},
                "mapValue": {"name": "tagValue", "schema": "string"}}},
    {"@type": "Property", "name": "externalIds",
     "schema": {"@type": "Map", "mapKey": {"name": "system", "schema": "string"},
                "mapValue": {"name": "id", "schema": "string"}}},
    {"@type": "Relationship", "name": "isPartOf", "target": B+"Space;1", "displayName": en("is part of")},
    {"@type": "Relationship", "name": "hasPart", "target": B+"Space;1"},
    {"@type": "Relationship", "name": "isLocationOf", "displayName": en("is location of")},
    {"@type": "Relationship", "name": "hasCapability", "target": B+"Capability;1"},
  ]})
w("building/Space/Architecture/Building.json", {
  "@context": [V3, QT], "@id": B+"Building;1", "@type": "Interface", "extends": B+"Architecture;1",
  "displayName": en("Building"),
  "contents": [
    {"@type": "Property", "name": "constructionYear", "schema": "integer"},
    {"@type": "Property", "name": "address", "schema": B+"PostalAddress;1"},
    {"@type": "Relationship", "name": "hasLevel", "target": B+"Level;1", "maxMultiplicity": 500},
  ],
  "schemas": [
    {"@id": B+"PostalAddress;1", "@type": "Object", "fields": [
      {"name": "street", "schema": "string"}, {"name": "postalCode", "schema": "string"},
      {"name": "city", "schema": "string"},
      {"name": "position", "schema": {"@type": "Object", "fields": [
        {"name": "latitude", "schema": "double"}, {"name": "longitude", "schema": "double"}]}}]}]})
w("building/Space/Architecture/Architecture.json", {
  "@context": [V3, QT], "@id": B+"Architecture;1", "@type": "Interface", "extends": [B+"Space;1"],
  "displayName": en("Architecture")})
w("building/Space/Architecture/Level.json", {
  "@context": [V3, QT], "@id": B+"Level;1", "@type": "Interface", "extends": B+"Architecture;1",
  "displayName": {"en": "Level", "sv": "Våning"},
  "contents": [{"@type": "Property", "name": "levelNumber", "schema": "integer"},
               {"@type": "Relationship", "name": "hasRoom", "target": B+"Room;1"}]})
w("building/Space/Architecture/Room.json", {
  "@context": [V3, QT], "@id": B+"Room;1", "@type": "Interface", "extends": B+"Architecture;1",
  "displayName": en("Room"),
  "contents": [
    {"@type": "Component", "name": "occupancy", "schema": B+"SpaceOccupancy;1"},
    {"@type": "Component", "name": "climate", "schema": B+"SpaceClimate;1"},
    {"@type": "Property", "name": "roomKind",
     "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
       {"name": "office", "enumValue": "office", "displayName": en("Office")},
       {"name": "meeting", "enumValue": "meeting"}, {"name": "storage", "enumValue": "storage"}]}},
  ]})
w("building/Space/Architecture/ConferenceRoom.json", {
  "@context": [V3, QT], "@id": B+"ConferenceRoom;1", "@type": "Interface", "extends": B+"Room;1",
  "displayName": en("Conference room"),
  "contents": [{"@type": "Property", "name": "seats", "schema": "integer"}]})
w("building/Space/Components/SpaceOccupancy.json", {
  "@context": [V3, QT], "@id": B+"SpaceOccupancy;1", "@type": "Interface",
  "displayName": en("Space occupancy"),
  "contents": [
    {"@type": "Property", "name": "isOccupied", "schema": "boolean", "writable": True},
    {"@type": "Property", "name": "peopleCount", "schema": "double", "writable": True},
    {"@type": ["Property", "TimeSpan"], "name": "dwellTimeAverage", "schema": "double", "unit": "second",
     "writable": True, "comment": "the mean time people stay"},
    {"@type": ["Telemetry", "TimeSpan"], "name": "waitTime", "schema": "double", "unit": "minute"}]})
w("building/Space/Components/SpaceClimate.json", {
  "@context": [V3, QT], "@id": B+"SpaceClimate;1", "@type": "Interface",
  "contents": [
    {"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "unit": "degreeCelsius"},
    {"@type": ["Property", "Temperature"], "name": "setpoint", "schema": "double", "unit": "degreeCelsius", "writable": True},
    {"@type": ["Telemetry", "RelativeHumidity"], "name": "humidity", "schema": "double", "unit": "percent"},
    {"@type": "Telemetry", "name": "co2", "schema": "float"}]})
w("building/Asset/Asset.json", {
  "@context": [V3, QT], "@id": B+"Asset;1", "@type": "Interface",
  "displayName": en("Asset"),
  "description": en("Something placed in a building that is not part of its structure: furniture, equipment, systems."),
  "contents": [
    {"@type": "Property", "name": "serialNumber", "schema": "string"},
    {"@type": "Property", "name": "commissionDate", "schema": "date"},
    {"@type": "Property", "name": "maintenanceInterval", "schema": "duration"},
    {"@type": ["Property", "Mass"], "name": "weight", "schema": "double", "unit": "kilogram"},
    {"@type": "Relationship", "name": "locatedIn", "target": B+"Space;1", "minMultiplicity": 0},
    {"@type": "Relationship", "name": "serves", "displayName": en("serves")},
    {"@type": "Relationship", "name": "feeds", "target": B+"Asset;1", "displayName": en("feeds"),
     "properties": [
       {"@type": "Property", "name": "medium",
        "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
          {"name": "air", "enumValue": "air"}, {"name": "water", "enumValue": "water"},
          {"name": "electricity", "enumValue": "electricity"}]}},
       {"@type": "Property", "name": "nominalFlow", "schema": "double"}]},
    {"@type": "Relationship", "name": "manufacturedBy", "target": B+"Agent;1"}]})
w("building/Asset/Equipment/Equipment.json", {
  "@context": [V3, QT], "@id": B+"Equipment;1", "@type": "Interface", "extends": B+"Asset;1",
  "contents": [{"@type": "Command", "name": "reset",
                "request": {"name": "reason", "schema": "string"},
                "response": {"name": "accepted", "schema": "boolean"}}]})
w("building/Asset/Equipment/HVAC/HVACEquipment.json", {
  "@context": [V3, QT], "@id": B+"HVACEquipment;1", "@type": "Interface", "extends": B+"Equipment;1",
  "contents": [{"@type": ["Telemetry", "Power"], "name": "powerDraw", "schema": "double", "unit": "kilowatt"}]})
w("building/Asset/Equipment/HVAC/AirHandlingUnit.json", {
  "@context": [V3, QT], "@id": B+"AirHandlingUnit;1", "@type": "Interface", "extends": B+"HVACEquipment;1",
  "displayName": en("Air handling unit"),
  "contents": [
    {"@type": ["Telemetry", "VolumeFlowRate"], "name": "supplyAirFlow", "schema": "double", "unit": "cubicMetrePerSecond"},
    {"@type": ["Property", "Temperature"], "name": "supplyAirSetpoint", "schema": "double", "unit": "degreeCelsius", "writable": True},
    {"@type": "Telemetry", "name": "alarms", "schema": {"@type": "Array", "elementSchema": "string"}}]})
w("building/Asset/Equipment/HVAC/Fan.json", {
  "@context": [V3, QT], "@id": B+"Fan;1", "@type": "Interface", "extends": [B+"HVACEquipment;1"],
  "contents": [{"@type": ["Telemetry", "AngularVelocity"], "name": "speed", "schema": "double", "unit": "revolutionPerMinute"}]})
w("building/Agent/Agent.json", {
  "@context": V3, "@id": B+"Agent;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "name", "schema": "string"}]})
w("building/Agent/Company.json", {
  "@context": V3, "@id": B+"Company;1", "@type": "Interface", "extends": B+"Agent;1"})
w("building/Capability/Capability.json", {
  "@context": [V3, QT], "@id": B+"Capability;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "lastValueTime", "schema": "dateTime"}]})
# The older RealEstateCore releases (DTDL v2) spell some terms as full IRIs.
w("building/Legacy/Pump.json", {
  "@id": B+"legacy:Pump;1", "@type": "Interface",
  "dtmi:dtdl:property:contents;2": [
    {"@type": "Property", "name": "kind", "displayName": en("kind"), "writable": True,
     "dtmi:dtdl:property:schema;2": {"@type": "Enum", "valueSchema": "string",
       "dtmi:dtdl:property:enumValues;2": [{"name": "vertical", "enumValue": "vertical"},
                                           {"name": "inline", "enumValue": "inline"}]}},
    {"@type": ["Property", "Pressure"], "name": "pressureCapacity", "schema": "double",
     "unit": "poundPerSquareInch", "writable": True},
    {"@type": "Property", "name": "tags", "writable": True,
     "dtmi:dtdl:property:schema;2": {"@type": "Map",
       "dtmi:dtdl:property:mapKey;2": {"name": "tag", "schema": "string"},
       "dtmi:dtdl:property:mapValue;2": {"name": "value", "schema": "string"}}}],
  "displayName": en("Pump"), "extends": B+"legacy:Component;1", "@context": V2})
w("building/Legacy/Component.json", {
  "@id": B+"legacy:Component;1", "@type": "Interface", "@context": V2,
  "contents": [{"@type": "Relationship", "name": "isPartOf", "target": B+"legacy:Component;1",
                "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}]}]})

# --- energygrid: CIM-like, DTDL v2, long extends chains, many relationships ------------------------
G = "dtmi:doppel:sample:cim:"
def iface(rel, name, extends=None, contents=(), **kw):
    d = {"@id": G+name+";1", "@type": "Interface", "displayName": name, "contents": list(contents), "@context": V2}
    if extends: d["extends"] = extends
    d.update(kw)
    w("energygrid/"+rel, d)
iface("Core/IdentifiedObject.json", "IdentifiedObject",
      description="The root of the hierarchy: anything with an identity and a name.",
      comment="Modelled on the Common Information Model's naming pattern",
      contents=[{"@type": "Property", "name": "mRID", "schema": "string", "writable": True},
                {"@type": "Property", "name": "Name", "schema": "string", "writable": True},
                {"@type": "Property", "name": "aliasName", "schema": "string", "writable": True}])
iface("Core/PowerSystemResource.json", "PowerSystemResource", [G+"IdentifiedObject;1"],
      [{"@type": "Relationship", "name": "Location", "target": G+"Location;1", "displayName": "Location"},
       {"@type": "Relationship", "name": "PSRType", "target": G+"PSRType;1"}])
iface("Core/Equipment.json", "Equipment", [G+"PowerSystemResource;1"],
      [{"@type": "Property", "name": "inService", "schema": "boolean", "writable": True},
       {"@type": "Relationship", "name": "EquipmentContainer", "target": G+"EquipmentContainer;1"}])
iface("Core/ConductingEquipment.json", "ConductingEquipment", [G+"Equipment;1"],
      [{"@type": "Relationship", "name": "BaseVoltage", "target": G+"BaseVoltage;1"},
       {"@type": "Relationship", "name": "Terminals", "target": G+"Terminal;1", "maxMultiplicity": 3}])
iface("Core/ACDCTerminal.json", "ACDCTerminal", [G+"IdentifiedObject;1"],
      [{"@type": "Property", "name": "connected", "schema": "boolean", "writable": True},
       {"@type": "Property", "name": "sequenceNumber", "schema": "integer", "writable": True}])
iface("Core/Terminal.json", "Terminal", [G+"ACDCTerminal;1"],
      [{"@type": "Property", "name": "phases", "writable": True,
        "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
          {"name": "ABC", "enumValue": "ABC"}, {"name": "ABCN", "enumValue": "ABCN"},
          {"name": "N", "enumValue": "N", "displayName": "neutral"}]}},
       {"@type": "Relationship", "name": "ConductingEquipment", "target": G+"ConductingEquipment;1"},
       {"@type": "Relationship", "name": "ConnectivityNode", "target": G+"ConnectivityNode;1",
        "comment": "the node this terminal connects to with zero impedance"}])
iface("Core/ConnectivityNode.json", "ConnectivityNode", [G+"IdentifiedObject;1"],
      [{"@type": "Relationship", "name": "ConnectivityNodeContainer", "target": G+"EquipmentContainer;1"}])
iface("Core/EquipmentContainer.json", "EquipmentContainer", [G+"PowerSystemResource;1"])
iface("Core/Substation.json", "Substation", [G+"EquipmentContainer;1"],
      [{"@type": "Relationship", "name": "Region", "target": G+"SubGeographicalRegion;1"},
       {"@type": "Relationship", "name": "VoltageLevels", "target": G+"VoltageLevel;1"}])
iface("Core/VoltageLevel.json", "VoltageLevel", [G+"EquipmentContainer;1"],
      [{"@type": ["Property", "Voltage"], "name": "highVoltageLimit", "schema": "double", "unit": "kilovolt", "writable": True},
       {"@type": ["Property", "Voltage"], "name": "lowVoltageLimit", "schema": "double", "unit": "kilovolt", "writable": True},
       {"@type": "Relationship", "name": "BaseVoltage", "target": G+"BaseVoltage;1"}])
iface("Core/BaseVoltage.json", "BaseVoltage", [G+"IdentifiedObject;1"],
      [{"@type": ["Property", "Voltage"], "name": "nominalVoltage", "schema": "double", "unit": "kilovolt", "writable": True}])
iface("Core/GeographicalRegion.json", "GeographicalRegion", [G+"IdentifiedObject;1"])
iface("Core/SubGeographicalRegion.json", "SubGeographicalRegion", [G+"IdentifiedObject;1"],
      [{"@type": "Relationship", "name": "Region", "target": G+"GeographicalRegion;1", "maxMultiplicity": 1}])
iface("Core/PSRType.json", "PSRType", [G+"IdentifiedObject;1"])
iface("Core/Location.json", "Location", [G+"IdentifiedObject;1"],
      [{"@type": "Property", "name": "position", "writable": True,
        "schema": {"@type": "Object", "fields": [
          {"name": "xPosition", "schema": "double"}, {"name": "yPosition", "schema": "double"},
          {"name": "zPosition", "schema": "double"}]}},
       {"@type": "Telemetry", "name": "geometry", "schema": "point"}])
iface("Wires/PowerTransformer.json", "PowerTransformer", [G+"ConductingEquipment;1"],
      [{"@type": "Property", "name": "vectorGroup", "schema": "string", "writable": True},
       {"@type": ["Telemetry", "Temperature"], "name": "oilTemperature", "schema": "double", "unit": "degreeCelsius"},
       {"@type": ["Telemetry", "Power"], "name": "activePower", "schema": "double", "unit": "megawatt"},
       {"@type": "Component", "name": "tapChanger", "schema": G+"TapChanger;1"},
       {"@type": "Relationship", "name": "MemberOf_Substation", "target": G+"Substation;1",
        "description": "Substation -> PowerTransformer -> TransformerEnd containment"},
       {"@type": "Relationship", "name": "PowerTransformerEnd", "target": G+"PowerTransformerEnd;1",
        "properties": [{"@type": "Property", "name": "endNumber", "schema": "integer"}]}])
iface("Wires/TapChanger.json", "TapChanger",
      contents=[{"@type": "Property", "name": "step", "schema": "integer", "writable": True},
                {"@type": "Property", "name": "controlEnabled", "schema": "boolean", "writable": True},
                {"@type": "Command", "name": "raise", "request": {"name": "steps", "schema": "integer"}}])
iface("Wires/PowerTransformerEnd.json", "PowerTransformerEnd", [G+"IdentifiedObject;1"],
      [{"@type": ["Property", "Resistance"], "name": "r", "schema": "double", "unit": "ohm", "writable": True},
       {"@type": ["Property", "Power"], "name": "ratedS", "schema": "double", "unit": "megawatt", "writable": True}])
iface("Wires/Switch.json", "Switch", [G+"ConductingEquipment;1"],
      [{"@type": "Property", "name": "normalOpen", "schema": "boolean", "writable": True},
       {"@type": "Telemetry", "name": "open", "schema": "boolean"}])
iface("Wires/Breaker.json", "Breaker", [G+"Switch;1"],
      [{"@type": ["Property", "Current"], "name": "ratedCurrent", "schema": "double", "unit": "ampere", "writable": True}])
iface("Wires/ACLineSegment.json", "ACLineSegment", [G+"ConductingEquipment;1"],
      [{"@type": ["Property", "Length"], "name": "length", "schema": "double", "unit": "kilometre", "writable": True},
       {"@type": "Property", "name": "impedance", "writable": True,
        "schema": {"@type": "Map", "mapKey": {"name": "sequence", "schema": "string"},
                   "mapValue": {"name": "ohms", "schema": "double"}}}])
iface("Generation/GeneratingUnit.json", "GeneratingUnit", [G+"Equipment;1"],
      [{"@type": "Property", "name": "fuel", "writable": True,
        "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
          {"name": "coal", "enumValue": 1}, {"name": "gas", "enumValue": 2}, {"name": "wind", "enumValue": 3},
          {"name": "solar", "enumValue": 4}]}},
       {"@type": ["Telemetry", "Power"], "name": "netOutput", "schema": "double", "unit": "megawatt"}])
iface("Generation/WindGeneratingUnit.json", "WindGeneratingUnit", [G+"GeneratingUnit;1"],
      [{"@type": ["Telemetry", "Velocity"], "name": "windSpeed", "schema": "double", "unit": "metrePerSecond"}])

# --- smartcities: NGSI-LD-like, DTDL v2, @context as an array, displayName strings ----------------
C = "dtmi:doppel:sample:city:"
def city(rel, doc):
    doc.setdefault("@type", "Interface")
    w("smartcities/"+rel, doc)
city("crossdomain/BaseModel.json", {"@id": C+"BaseModel;1", "@context": [V2], "displayName": "Base model",
  "contents": [{"@type": "Property", "name": "dateCreated", "schema": "dateTime", "writable": True},
               {"@type": "Property", "name": "dataProvider", "schema": "string", "writable": True},
               {"@type": "Property", "name": "name", "schema": "string", "writable": True},
               {"@type": "Property", "name": "description", "schema": "string", "writable": True},
               {"@type": "Property", "name": "postalAddress", "schema": C+"PostalAddress;1", "writable": True},
               {"@type": "Component", "name": "address", "schema": C+"Address;1"},
               {"@type": "Component", "name": "location", "schema": C+"GeoLocation;1"},
               {"@type": "Relationship", "name": "refDevice", "minMultiplicity": 0, "maxMultiplicity": 1,
                "target": C+"Device;1"}],
  "schemas": [{"@id": C+"PostalAddress;1", "@type": "Object", "fields": [
      {"name": "streetAddress", "schema": "string"}, {"name": "postalCode", "schema": "string"},
      {"name": "addressLocality", "schema": "string"}, {"name": "addressCountry", "schema": "string"}]}]})
city("crossdomain/Address.json", {"@id": C+"Address;1", "@context": [V2], "displayName": "Address",
  "contents": [{"@type": "Property", "name": n, "schema": "string", "writable": True}
               for n in ("addressCountry", "addressLocality", "postalCode", "streetAddress")]})
city("crossdomain/GeoLocation.json", {"@id": C+"GeoLocation;1", "@context": V2,
  "contents": [{"@type": ["Property", "Latitude"], "name": "latitude", "schema": "double", "unit": "degreeOfArc", "writable": True},
               {"@type": ["Property", "Longitude"], "name": "longitude", "schema": "double", "unit": "degreeOfArc", "writable": True},
               {"@type": "Telemetry", "name": "position", "schema": "point"}]})
city("crossdomain/Device.json", {"@id": C+"Device;1", "@context": V2, "extends": C+"BaseModel;1",
  "contents": [{"@type": "Telemetry", "name": "category", "schema": {"@type": "Array", "elementSchema": "string"}},
               {"@type": ["Telemetry", "Voltage"], "name": "batteryLevel", "schema": "double", "unit": "volt"},
               {"@type": "Property", "name": "deviceState",
                "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
                  {"name": "ok", "displayName": "OK", "enumValue": "ok"},
                  {"name": "fault", "displayName": "Fault", "enumValue": "fault"}]}}]})
city("Environment/EnvironmentBaseModel.json", {"@id": C+"EnvironmentBaseModel;1", "@context": V2,
  "extends": C+"BaseModel;1", "displayName": "Environment base model",
  "contents": [{"@type": "Property", "name": "dateObserved", "schema": "dateTime", "writable": True}]})
city("Environment/WeatherObserved.json", {"@id": C+"WeatherObserved;1", "@context": V2,
  "extends": C+"EnvironmentBaseModel;1", "displayName": "Weather observed",
  "contents": [
    {"@type": "Property", "name": "pressureTendency", "schema": {"@type": "Enum", "valueSchema": "string",
      "enumValues": [{"name": "raising", "displayName": "Raising", "enumValue": "raising"},
                     {"name": "steady", "displayName": "Steady", "enumValue": "steady"},
                     {"name": "falling", "displayName": "Falling", "enumValue": "falling"}]}},
    {"@type": ["Telemetry", "Pressure"], "name": "atmosphericPressure", "schema": "double", "unit": "pascal"},
    {"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "unit": "degreeCelsius"},
    {"@type": ["Telemetry", "Illuminance"], "name": "illuminance", "schema": "double", "unit": "lux"},
    {"@type": ["Telemetry"], "name": "relativeHumidity", "schema": "double"},
    {"@type": ["Telemetry", "Length"], "name": "snowHeight", "schema": "double", "unit": "centimetre"},
    {"@type": ["Telemetry", "Angle"], "name": "WindDirection", "schema": "double", "unit": "degreeOfArc"},
    {"@type": ["Telemetry", "Velocity"], "name": "WindSpeed", "schema": "double", "unit": "knot"}]})
city("Environment/AirQualityObserved.json", {"@id": C+"AirQualityObserved;1", "@context": V2,
  "extends": [C+"EnvironmentBaseModel;1"],
  "contents": [
    {"@type": "Telemetry", "name": "pollutants", "schema": {"@type": "Map",
      "mapKey": {"name": "pollutant", "schema": "string"}, "mapValue": {"name": "concentration", "schema": "double"}}},
    {"@type": "Property", "name": "airQualityLevel", "schema": C+"AirQualityLevel;1", "writable": True}],
  "schemas": [{"@id": C+"AirQualityLevel;1", "@type": "Enum", "valueSchema": "string", "enumValues": [
    {"name": "good", "enumValue": "good"}, {"name": "moderate", "enumValue": "moderate"},
    {"name": "unhealthy", "enumValue": "unhealthy"}]}]})
city("Parking/ParkingSite.json", {"@id": C+"ParkingSite;1", "@context": V2, "extends": C+"BaseModel;1",
  "contents": [{"@type": "Property", "name": "totalSpotNumber", "schema": "integer", "writable": True},
               {"@type": "Telemetry", "name": "availableSpotNumber", "schema": "integer"},
               {"@type": "Component", "name": "pricing", "schema": C+"Pricing;1"},
               {"@type": "Relationship", "name": "hasSpot", "target": C+"ParkingSpot;1",
                "properties": [{"@type": "Property", "name": "level", "schema": "integer"}]}]})
city("Parking/OffStreetParking.json", {"@id": C+"OffStreetParking;1", "@context": V2, "extends": C+"ParkingSite;1",
  "contents": [{"@type": ["Property", "Length"], "name": "maximumAllowedHeight", "schema": "double",
                "unit": "metre", "writable": True}]})
city("Parking/ParkingSpot.json", {"@id": C+"ParkingSpot;1", "@context": V2, "extends": C+"BaseModel;1",
  "contents": [{"@type": "Telemetry", "name": "status", "schema": {"@type": "Enum", "valueSchema": "string",
      "enumValues": [{"name": "free", "enumValue": "free"}, {"name": "occupied", "enumValue": "occupied"}]}}]})
city("Parking/Pricing.json", {"@id": C+"Pricing;1", "@context": V2,
  "contents": [{"@type": "Property", "name": "currency", "schema": "string", "writable": True},
               {"@type": "Property", "name": "hourly", "schema": "double", "writable": True},
               {"@type": "Property", "name": "validity", "schema": "duration", "writable": True}]})
# CRLF line ends, as files edited on Windows have them.
city("Streetlights/Streetlight-crlf.json", {"@id": C+"Streetlight;1", "@context": V2, "extends": C+"BaseModel;1",
  "contents": [{"@type": ["Telemetry", "Power"], "name": "powerConsumption", "schema": "double", "unit": "watt"},
               {"@type": "Property", "name": "lanternHeight", "schema": "double", "writable": True},
               {"@type": "Command", "name": "switchOn"}]})
