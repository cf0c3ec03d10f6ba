/* The shared FMI 3.0 co-simulation frame of Doppel's test FMUs, part 2 (the FMI 3.0 API).
 * Included last by a model file; see fmu3_frame.h for what the model file defines first. */
#ifndef DOPPEL_TEST_FMU3_FRAME_IMPL_H
#define DOPPEL_TEST_FMU3_FRAME_IMPL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmu3_frame.h"

/* The model hooks. */
static void model_start(Fmu* fmu, ModelData* m);       /* start values (strings, binaries: see Fmu3Var) */
static fmi3Status model_check(Fmu* fmu, ModelData* m); /* at fmi3ExitInitializationMode */
static void model_init(Fmu* fmu, ModelData* m);        /* outputs at the end of initialization */
static fmi3Status model_step(Fmu* fmu, ModelData* m, double t, double h); /* t -> t + h */
static void model_inputs_changed(Fmu* fmu, ModelData* m);                 /* after every successful fmi3Set... */

typedef enum { kInstantiated, kInitializationMode, kStepMode, kStepFailed, kTerminated } Fmu3State;

struct Fmu {
  char* name;
  char* resource_path;
  fmi3InstanceEnvironment environment;
  fmi3LogMessageCallback log_message;
  int logging_on;
  Fmu3State state;
  double time;
  ModelData model;
};

#define FMU_VAR_COUNT (sizeof kVars / sizeof kVars[0])

static const char* const kTypeNames[] = {"Float32", "Float64", "Int8",   "UInt8",   "Int16",  "UInt16", "Int32",
                                         "UInt32",  "Int64",   "UInt64", "Boolean", "String", "Binary"};
static const size_t kTypeSizes[] = {sizeof(fmi3Float32), sizeof(fmi3Float64), sizeof(fmi3Int8),    sizeof(fmi3UInt8),
                                    sizeof(fmi3Int16),   sizeof(fmi3UInt16),  sizeof(fmi3Int32),   sizeof(fmi3UInt32),
                                    sizeof(fmi3Int64),   sizeof(fmi3UInt64),  sizeof(fmi3Boolean), sizeof(char*),
                                    sizeof(Fmu3Binary)};

static double fmu_time(const Fmu* fmu) { return fmu->time; }

static char* fmu_strdup(const char* s) {
  size_t n = strlen(s) + 1;
  char* copy = (char*)malloc(n);
  if (copy) memcpy(copy, s, n);
  return copy;
}

static void fmu_log(Fmu* fmu, fmi3Status status, const char* category, const char* format, ...) {
  char message[512];
  va_list args;
  if (!fmu->log_message) return;
  if (status == fmi3OK && !fmu->logging_on) return;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fmu->log_message(fmu->environment, status, category, message);
}

static int fmu_set_string(Fmu* fmu, char** slot, const char* value) {
  char* copy = fmu_strdup(value ? value : "");
  if (!copy) {
    fmu_log(fmu, fmi3Error, "logStatusError", "out of memory");
    return 0;
  }
  free(*slot);
  *slot = copy;
  return 1;
}

static int fmu_set_binary(Fmu* fmu, Fmu3Binary* slot, const fmi3Byte* data, size_t size) {
  fmi3Byte* copy = (fmi3Byte*)malloc(size > 0 ? size : 1);
  if (!copy) {
    fmu_log(fmu, fmi3Error, "logStatusError", "out of memory");
    return 0;
  }
  if (size > 0) memcpy(copy, data, size);
  free(slot->data);
  slot->data = copy;
  slot->size = size;
  return 1;
}

static void* fmu_field(Fmu* fmu, const Fmu3Var* var) { return (char*)&fmu->model + var->offset; }

static void fmu_free_owned(Fmu* fmu) {
  size_t i;
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].type == kString) {
      char** slot = (char**)fmu_field(fmu, &kVars[i]);
      free(*slot);
      *slot = NULL;
    } else if (kVars[i].type == kBinary) {
      Fmu3Binary* slot = (Fmu3Binary*)fmu_field(fmu, &kVars[i]);
      free(slot->data);
      slot->data = NULL;
      slot->size = 0;
    }
  }
}

static int fmu_hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int fmu_start(Fmu* fmu) {
  size_t i;
  fmu_free_owned(fmu);
  memset(&fmu->model, 0, sizeof fmu->model);
  fmu->time = 0.0;
  fmu->state = kInstantiated;
  model_start(fmu, &fmu->model);
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    const Fmu3Var* var = &kVars[i];
    if (var->type == kString) {
      if (!fmu_set_string(fmu, (char**)fmu_field(fmu, var), var->text_start)) return 0;
    } else if (var->type == kBinary) {
      const char* hex = var->text_start ? var->text_start : "";
      fmi3Byte bytes[256];
      size_t n = 0;
      while (hex[0] && hex[1] && n < sizeof bytes) {
        bytes[n++] = (fmi3Byte)(fmu_hex_digit(hex[0]) * 16 + fmu_hex_digit(hex[1]));
        hex += 2;
      }
      if (!fmu_set_binary(fmu, (Fmu3Binary*)fmu_field(fmu, var), bytes, n)) return 0;
    }
  }
  return 1;
}

static const char* fmu_state_name(Fmu3State s) {
  switch (s) {
    case kInstantiated: return "Instantiated";
    case kInitializationMode: return "Initialization Mode";
    case kStepMode: return "Step Mode";
    case kStepFailed: return "the error state (a failed fmi3DoStep)";
    case kTerminated: return "Terminated";
  }
  return "?";
}

static fmi3Status fmu_wrong_state(Fmu* fmu, const char* function) {
  fmu_log(fmu, fmi3Error, "logStatusError", "%s may not be called in %s", function, fmu_state_name(fmu->state));
  return fmi3Error;
}

/* ---- The FMI 3.0 API ---- */

const char* fmi3GetVersion(void) { return "3.0"; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[]) {
  Fmu* fmu = (Fmu*)instance;
  (void)nCategories;
  (void)categories;
  if (!fmu) return fmi3Error;
  fmu->logging_on = loggingOn ? 1 : 0;
  return fmi3OK;
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken,
                                         fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                         fmi3Boolean eventModeUsed, fmi3Boolean earlyReturnAllowed,
                                         const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables,
                                         fmi3InstanceEnvironment instanceEnvironment, fmi3LogMessageCallback logMessage,
                                         fmi3IntermediateUpdateCallback intermediateUpdate) {
  Fmu probe;
  Fmu* fmu;
  (void)visible;
  (void)eventModeUsed; /* hasEventMode="false": the FMU never asks for Event Mode */
  (void)earlyReturnAllowed;
  (void)requiredIntermediateVariables;
  (void)intermediateUpdate;
  memset(&probe, 0, sizeof probe);
  probe.environment = instanceEnvironment;
  probe.log_message = logMessage;
  probe.logging_on = loggingOn ? 1 : 0;
  if (!instanceName || !*instanceName) {
    fmu_log(&probe, fmi3Error, "logStatusError", "fmi3InstantiateCoSimulation: missing instance name");
    return NULL;
  }
  if (!instantiationToken || strcmp(instantiationToken, MODEL_TOKEN) != 0) {
    fmu_log(&probe, fmi3Error, "logStatusError",
            "fmi3InstantiateCoSimulation: wrong instantiation token %s, expected %s",
            instantiationToken ? instantiationToken : "(null)", MODEL_TOKEN);
    return NULL;
  }
  if (nRequiredIntermediateVariables > 0) {
    fmu_log(&probe, fmi3Warning, "logStatusWarning",
            "fmi3InstantiateCoSimulation: intermediate updates are not provided; the required intermediate "
            "variables are ignored");
  }
  fmu = (Fmu*)calloc(1, sizeof *fmu);
  if (!fmu) {
    fmu_log(&probe, fmi3Error, "logStatusError", "fmi3InstantiateCoSimulation: out of memory");
    return NULL;
  }
  fmu->environment = instanceEnvironment;
  fmu->log_message = logMessage;
  fmu->logging_on = loggingOn ? 1 : 0;
  fmu->name = fmu_strdup(instanceName);
  fmu->resource_path = fmu_strdup(resourcePath ? resourcePath : "");
  if (!fmu->name || !fmu->resource_path || !fmu_start(fmu)) {
    fmu_log(&probe, fmi3Error, "logStatusError", "fmi3InstantiateCoSimulation: out of memory");
    fmu_free_owned(fmu);
    free(fmu->name);
    free(fmu->resource_path);
    free(fmu);
    return NULL;
  }
  fmu_log(fmu, fmi3OK, "logEvents", "fmi3InstantiateCoSimulation: instance of %s", MODEL_TOKEN);
  return fmu;
}

void fmi3FreeInstance(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return;
  fmu_free_owned(fmu);
  free(fmu->name);
  free(fmu->resource_path);
  free(fmu);
}

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
  Fmu* fmu = (Fmu*)instance;
  (void)toleranceDefined;
  (void)tolerance;
  (void)stopTimeDefined;
  (void)stopTime;
  if (!fmu) return fmi3Error;
  if (fmu->state != kInstantiated) return fmu_wrong_state(fmu, "fmi3EnterInitializationMode");
  fmu->time = startTime;
  fmu->state = kInitializationMode;
  return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  if (fmu->state != kInitializationMode) return fmu_wrong_state(fmu, "fmi3ExitInitializationMode");
  if (model_check(fmu, &fmu->model) != fmi3OK) return fmi3Error;
  model_init(fmu, &fmu->model);
  fmu->state = kStepMode;
  return fmi3OK;
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  fmu_log(fmu, fmi3Error, "logStatusError", "fmi3EnterEventMode: this FMU has no Event Mode (hasEventMode=false)");
  return fmi3Error;
}

fmi3Status fmi3Terminate(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  if (fmu->state != kStepMode && fmu->state != kInitializationMode && fmu->state != kStepFailed)
    return fmu_wrong_state(fmu, "fmi3Terminate");
  fmu->state = kTerminated;
  return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  return fmu_start(fmu) ? fmi3OK : fmi3Fatal;
}

/* Finds the variable of a value reference and checks its type; logs and returns NULL if none. */
static const Fmu3Var* fmu_var(Fmu* fmu, const char* function, fmi3ValueReference vr, Fmu3Type type) {
  size_t i;
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].vr != vr) continue;
    if (kVars[i].type == type) return &kVars[i];
    fmu_log(fmu, fmi3Error, "logStatusError", "%s: value reference %u (%s) is a %s, not a %s", function, (unsigned)vr,
            kVars[i].name, kTypeNames[kVars[i].type], kTypeNames[type]);
    return NULL;
  }
  fmu_log(fmu, fmi3Error, "logStatusError", "%s: unknown value reference %u", function, (unsigned)vr);
  return NULL;
}

static int fmu_may_set(Fmu* fmu, const char* function, const Fmu3Var* var) {
  int before_end_of_init = fmu->state == kInstantiated || fmu->state == kInitializationMode;
  switch (var->kind) {
    case kIndependent:
    case kCalculated:
      fmu_log(fmu, fmi3Error, "logStatusError", "%s: %s (value reference %u) is %s and may not be set", function,
              var->name, (unsigned)var->vr,
              var->kind == kIndependent ? "the independent variable" : "a calculated output");
      return 0;
    case kExact:
    case kParameter:
      if (before_end_of_init) return 1;
      fmu_log(fmu, fmi3Error, "logStatusError",
              "%s: %s (value reference %u) may only be set before fmi3ExitInitializationMode", function, var->name,
              (unsigned)var->vr);
      return 0;
    case kInput:
      if (before_end_of_init || fmu->state == kStepMode) return 1;
      fmu_wrong_state(fmu, function);
      return 0;
  }
  return 0;
}

/* Checks the state, every value reference (type, and for a set whether it may be set) and
 * nValues against the number of values they need; logs and returns 0 on the first problem. */
static int fmu_check_access(Fmu* fmu, const char* function, const fmi3ValueReference vrs[], size_t nvr,
                            const void* values, size_t nValues, Fmu3Type type, int set) {
  size_t i, needed = 0;
  if (!fmu) return 0;
  if (!set && fmu->state == kInstantiated) {
    fmu_wrong_state(fmu, function);
    return 0;
  }
  if (nvr > 0 && (!vrs || !values)) {
    fmu_log(fmu, fmi3Error, "logStatusError", "%s: null array", function);
    return 0;
  }
  for (i = 0; i < nvr; ++i) {
    const Fmu3Var* var = fmu_var(fmu, function, vrs[i], type);
    if (!var || (set && !fmu_may_set(fmu, function, var))) return 0;
    needed += var->count;
  }
  if (nValues != needed) {
    fmu_log(fmu, fmi3Error, "logStatusError", "%s: nValues is %zu, but the %zu value references need %zu values",
            function, nValues, nvr, needed);
    return 0;
  }
  return 1;
}

static fmi3Status fmu_get_numeric(fmi3Instance instance, const char* function, const fmi3ValueReference vrs[],
                                  size_t nvr, void* values, size_t nValues, Fmu3Type type) {
  Fmu* fmu = (Fmu*)instance;
  size_t i, k = 0, size = kTypeSizes[type];
  if (!fmu_check_access(fmu, function, vrs, nvr, values, nValues, type, 0)) return fmi3Error;
  for (i = 0; i < nvr; ++i) {
    const Fmu3Var* var = fmu_var(fmu, function, vrs[i], type);
    if (var->kind == kIndependent)
      memcpy((char*)values + k * size, &fmu->time, size);
    else
      memcpy((char*)values + k * size, fmu_field(fmu, var), var->count * size);
    k += var->count;
  }
  return fmi3OK;
}

static fmi3Status fmu_set_numeric(fmi3Instance instance, const char* function, const fmi3ValueReference vrs[],
                                  size_t nvr, const void* values, size_t nValues, Fmu3Type type) {
  Fmu* fmu = (Fmu*)instance;
  size_t i, k = 0, size = kTypeSizes[type];
  if (!fmu_check_access(fmu, function, vrs, nvr, values, nValues, type, 1)) return fmi3Error;
  for (i = 0; i < nvr; ++i) {
    const Fmu3Var* var = fmu_var(fmu, function, vrs[i], type);
    memcpy(fmu_field(fmu, var), (const char*)values + k * size, var->count * size);
    k += var->count;
  }
  model_inputs_changed(fmu, &fmu->model);
  return fmi3OK;
}

#define FMU3_GETSET(Name, Tag, CType)                                                                                  \
  fmi3Status fmi3Get##Name(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                           CType values[], size_t nValues) {                                                           \
    return fmu_get_numeric(instance, "fmi3Get" #Name, valueReferences, nValueReferences, values, nValues, Tag);        \
  }                                                                                                                    \
  fmi3Status fmi3Set##Name(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                           const CType values[], size_t nValues) {                                                     \
    return fmu_set_numeric(instance, "fmi3Set" #Name, valueReferences, nValueReferences, values, nValues, Tag);        \
  }

FMU3_GETSET(Float32, kFloat32, fmi3Float32)
FMU3_GETSET(Float64, kFloat64, fmi3Float64)
FMU3_GETSET(Int8, kInt8, fmi3Int8)
FMU3_GETSET(UInt8, kUInt8, fmi3UInt8)
FMU3_GETSET(Int16, kInt16, fmi3Int16)
FMU3_GETSET(UInt16, kUInt16, fmi3UInt16)
FMU3_GETSET(Int32, kInt32, fmi3Int32)
FMU3_GETSET(UInt32, kUInt32, fmi3UInt32)
FMU3_GETSET(Int64, kInt64, fmi3Int64)
FMU3_GETSET(UInt64, kUInt64, fmi3UInt64)
FMU3_GETSET(Boolean, kBoolean, fmi3Boolean)

fmi3Status fmi3GetString(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         fmi3String values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!fmu_check_access(fmu, "fmi3GetString", valueReferences, nValueReferences, values, nValues, kString, 0))
    return fmi3Error;
  for (i = 0; i < nValueReferences; ++i)
    values[i] = *(char**)fmu_field(fmu, fmu_var(fmu, "fmi3GetString", valueReferences[i], kString));
  return fmi3OK;
}

fmi3Status fmi3SetString(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         const fmi3String values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!fmu_check_access(fmu, "fmi3SetString", valueReferences, nValueReferences, values, nValues, kString, 1))
    return fmi3Error;
  for (i = 0; i < nValueReferences; ++i) {
    if (!values[i]) {
      fmu_log(fmu, fmi3Error, "logStatusError", "fmi3SetString: null string for value reference %u",
              (unsigned)valueReferences[i]);
      return fmi3Error;
    }
  }
  for (i = 0; i < nValueReferences; ++i) {
    if (!fmu_set_string(fmu, (char**)fmu_field(fmu, fmu_var(fmu, "fmi3SetString", valueReferences[i], kString)),
                        values[i]))
      return fmi3Fatal;
  }
  model_inputs_changed(fmu, &fmu->model);
  return fmi3OK;
}

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         size_t valueSizes[], fmi3Binary values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!fmu_check_access(fmu, "fmi3GetBinary", valueReferences, nValueReferences, values, nValues, kBinary, 0))
    return fmi3Error;
  if (nValueReferences > 0 && !valueSizes) {
    fmu_log(fmu, fmi3Error, "logStatusError", "fmi3GetBinary: null valueSizes");
    return fmi3Error;
  }
  for (i = 0; i < nValueReferences; ++i) {
    const Fmu3Binary* b = (const Fmu3Binary*)fmu_field(fmu, fmu_var(fmu, "fmi3GetBinary", valueReferences[i], kBinary));
    valueSizes[i] = b->size;
    values[i] = b->data;
  }
  return fmi3OK;
}

fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         const size_t valueSizes[], const fmi3Binary values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!fmu_check_access(fmu, "fmi3SetBinary", valueReferences, nValueReferences, values, nValues, kBinary, 1))
    return fmi3Error;
  if (nValueReferences > 0 && !valueSizes) {
    fmu_log(fmu, fmi3Error, "logStatusError", "fmi3SetBinary: null valueSizes");
    return fmi3Error;
  }
  for (i = 0; i < nValueReferences; ++i) {
    if (!values[i] && valueSizes[i] > 0) {
      fmu_log(fmu, fmi3Error, "logStatusError", "fmi3SetBinary: null value of %zu bytes for value reference %u",
              valueSizes[i], (unsigned)valueReferences[i]);
      return fmi3Error;
    }
  }
  for (i = 0; i < nValueReferences; ++i) {
    Fmu3Binary* b = (Fmu3Binary*)fmu_field(fmu, fmu_var(fmu, "fmi3SetBinary", valueReferences[i], kBinary));
    if (!fmu_set_binary(fmu, b, values[i], valueSizes[i])) return fmi3Fatal;
  }
  model_inputs_changed(fmu, &fmu->model);
  return fmi3OK;
}

/* No clocks: only the empty call succeeds. */
fmi3Status fmi3GetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                        fmi3Clock values[]) {
  Fmu* fmu = (Fmu*)instance;
  (void)values;
  if (!fmu) return fmi3Error;
  if (nValueReferences == 0) return fmi3OK;
  fmu_log(fmu, fmi3Error, "logStatusError", "fmi3GetClock: unknown value reference %u (this FMU has no clocks)",
          valueReferences ? (unsigned)valueReferences[0] : 0u);
  return fmi3Error;
}

fmi3Status fmi3SetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                        const fmi3Clock values[]) {
  Fmu* fmu = (Fmu*)instance;
  (void)values;
  if (!fmu) return fmi3Error;
  if (nValueReferences == 0) return fmi3OK;
  fmu_log(fmu, fmi3Error, "logStatusError", "fmi3SetClock: unknown value reference %u (this FMU has no clocks)",
          valueReferences ? (unsigned)valueReferences[0] : 0u);
  return fmi3Error;
}

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean* discreteStatesNeedUpdate,
                                    fmi3Boolean* terminateSimulation, fmi3Boolean* nominalsOfContinuousStatesChanged,
                                    fmi3Boolean* valuesOfContinuousStatesChanged, fmi3Boolean* nextEventTimeDefined,
                                    fmi3Float64* nextEventTime) {
  Fmu* fmu = (Fmu*)instance;
  (void)discreteStatesNeedUpdate;
  (void)terminateSimulation;
  (void)nominalsOfContinuousStatesChanged;
  (void)valuesOfContinuousStatesChanged;
  (void)nextEventTimeDefined;
  (void)nextEventTime;
  if (!fmu) return fmi3Error;
  fmu_log(fmu, fmi3Error, "logStatusError",
          "fmi3UpdateDiscreteStates: this FMU has no Event Mode (hasEventMode=false)");
  return fmi3Error;
}

fmi3Status fmi3EnterStepMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  fmu_log(fmu, fmi3Error, "logStatusError",
          "fmi3EnterStepMode: this FMU has no Event Mode (hasEventMode=false); it enters Step Mode at "
          "fmi3ExitInitializationMode");
  return fmi3Error;
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean* eventHandlingNeeded,
                      fmi3Boolean* terminateSimulation, fmi3Boolean* earlyReturn, fmi3Float64* lastSuccessfulTime) {
  Fmu* fmu = (Fmu*)instance;
  fmi3Status status;
  (void)noSetFMUStatePriorToCurrentPoint;
  if (!fmu) return fmi3Error;
  if (eventHandlingNeeded) *eventHandlingNeeded = false;
  if (terminateSimulation) *terminateSimulation = false;
  if (earlyReturn) *earlyReturn = false;
  if (lastSuccessfulTime) *lastSuccessfulTime = fmu_time(fmu);
  if (!eventHandlingNeeded || !terminateSimulation || !earlyReturn || !lastSuccessfulTime) {
    fmu_log(fmu, fmi3Error, "logStatusError", "fmi3DoStep: null output argument");
    return fmi3Error;
  }
  if (fmu->state != kStepMode) return fmu_wrong_state(fmu, "fmi3DoStep");
  if (!(communicationStepSize >= 0.0)) {
    fmu_log(fmu, fmi3Error, "logStatusError", "fmi3DoStep: negative communication step size %.17g",
            communicationStepSize);
    return fmi3Error;
  }
  if (fabs(currentCommunicationPoint - fmu->time) > 1e-9 * (1.0 + fabs(fmu->time))) {
    fmu_log(fmu, fmi3Error, "logStatusError",
            "fmi3DoStep: currentCommunicationPoint %.17g differs from the FMU's time %.17g", currentCommunicationPoint,
            fmu->time);
    return fmi3Error;
  }
  if (communicationStepSize == 0.0) return fmi3OK;
  status = model_step(fmu, &fmu->model, fmu->time, communicationStepSize);
  if (status == fmi3OK || status == fmi3Warning) {
    fmu->time = currentCommunicationPoint + communicationStepSize;
    *lastSuccessfulTime = fmu->time;
  } else {
    fmu->state = kStepFailed;
  }
  return status;
}

/* The rest of the FMI 3.0 API (fmi3Functions.h of the standard) that fmi3_api.h leaves out:
 * Configuration Mode, FMU state, derivatives, variable dependencies and clock intervals are not
 * supported (the modelDescription.xml capability flags say so, and there are no clocks); each
 * function answers fmi3Error with a log message. Exported so that an importer which looks up
 * every function of the standard finds them. */
typedef enum {
  kFmu3Dependent,
  kFmu3Constant,
  kFmu3Fixed,
  kFmu3Tunable,
  kFmu3Discrete,
  kFmu3Independent
} Fmu3DependencyKind;
typedef enum { kFmu3IntervalNotYetKnown, kFmu3IntervalUnchanged, kFmu3IntervalChanged } Fmu3IntervalQualifier;

static fmi3Status fmu_unsupported(fmi3Instance instance, const char* function) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  fmu_log(fmu, fmi3Error, "logStatusError", "%s is not supported by this FMU", function);
  return fmi3Error;
}

fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance);
fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance) {
  return fmu_unsupported(instance, "fmi3EnterConfigurationMode");
}

fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance);
fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance) {
  return fmu_unsupported(instance, "fmi3ExitConfigurationMode");
}

fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance);
fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance) {
  return fmu_unsupported(instance, "fmi3EvaluateDiscreteStates");
}

fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState* FMUState);
fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState* FMUState) {
  (void)FMUState;
  return fmu_unsupported(instance, "fmi3GetFMUState");
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState);
fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState) {
  (void)FMUState;
  return fmu_unsupported(instance, "fmi3SetFMUState");
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState* FMUState);
fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState* FMUState) {
  (void)FMUState;
  return fmu_unsupported(instance, "fmi3FreeFMUState");
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t* size);
fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t* size) {
  (void)FMUState;
  (void)size;
  return fmu_unsupported(instance, "fmi3SerializedFMUStateSize");
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[], size_t size);
fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[],
                                 size_t size) {
  (void)FMUState;
  (void)serializedState;
  (void)size;
  return fmu_unsupported(instance, "fmi3SerializeFMUState");
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState* FMUState);
fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState* FMUState) {
  (void)serializedState;
  (void)size;
  (void)FMUState;
  return fmu_unsupported(instance, "fmi3DeserializeFMUState");
}

fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                        const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                        size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity);
fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                        const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                        size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
  (void)unknowns;
  (void)nUnknowns;
  (void)knowns;
  (void)nKnowns;
  (void)seed;
  (void)nSeed;
  (void)sensitivity;
  (void)nSensitivity;
  return fmu_unsupported(instance, "fmi3GetDirectionalDerivative");
}

fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                    const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                    size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity);
fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                    const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                    size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
  (void)unknowns;
  (void)nUnknowns;
  (void)knowns;
  (void)nKnowns;
  (void)seed;
  (void)nSeed;
  (void)sensitivity;
  (void)nSensitivity;
  return fmu_unsupported(instance, "fmi3GetAdjointDerivative");
}

fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference valueReference,
                                               size_t* nDependencies);
fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference valueReference,
                                               size_t* nDependencies) {
  (void)valueReference;
  (void)nDependencies;
  return fmu_unsupported(instance, "fmi3GetNumberOfVariableDependencies");
}

fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent,
                                       size_t elementIndicesOfDependent[], fmi3ValueReference independents[],
                                       size_t elementIndicesOfIndependents[], Fmu3DependencyKind dependencyKinds[],
                                       size_t nDependencies);
fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent,
                                       size_t elementIndicesOfDependent[], fmi3ValueReference independents[],
                                       size_t elementIndicesOfIndependents[], Fmu3DependencyKind dependencyKinds[],
                                       size_t nDependencies) {
  (void)dependent;
  (void)elementIndicesOfDependent;
  (void)independents;
  (void)elementIndicesOfIndependents;
  (void)dependencyKinds;
  (void)nDependencies;
  return fmu_unsupported(instance, "fmi3GetVariableDependencies");
}

fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                    size_t nValueReferences, const fmi3Int32 orders[], fmi3Float64 values[],
                                    size_t nValues);
fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                    size_t nValueReferences, const fmi3Int32 orders[], fmi3Float64 values[],
                                    size_t nValues) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)orders;
  (void)values;
  (void)nValues;
  return fmu_unsupported(instance, "fmi3GetOutputDerivatives");
}

fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, fmi3Float64 intervals[], Fmu3IntervalQualifier qualifiers[]);
fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, fmi3Float64 intervals[],
                                  Fmu3IntervalQualifier qualifiers[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)intervals;
  (void)qualifiers;
  return fmu_unsupported(instance, "fmi3GetIntervalDecimal");
}

fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[],
                                   Fmu3IntervalQualifier qualifiers[]);
fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[],
                                   Fmu3IntervalQualifier qualifiers[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)counters;
  (void)resolutions;
  (void)qualifiers;
  return fmu_unsupported(instance, "fmi3GetIntervalFraction");
}

fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, fmi3Float64 shifts[]);
fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, fmi3Float64 shifts[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)shifts;
  return fmu_unsupported(instance, "fmi3GetShiftDecimal");
}

fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[]);
fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)counters;
  (void)resolutions;
  return fmu_unsupported(instance, "fmi3GetShiftFraction");
}

fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, const fmi3Float64 intervals[]);
fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, const fmi3Float64 intervals[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)intervals;
  return fmu_unsupported(instance, "fmi3SetIntervalDecimal");
}

fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, const fmi3UInt64 counters[],
                                   const fmi3UInt64 resolutions[]);
fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, const fmi3UInt64 counters[],
                                   const fmi3UInt64 resolutions[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)counters;
  (void)resolutions;
  return fmu_unsupported(instance, "fmi3SetIntervalFraction");
}

fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, const fmi3Float64 shifts[]);
fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, const fmi3Float64 shifts[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)shifts;
  return fmu_unsupported(instance, "fmi3SetShiftDecimal");
}

fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]);
fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]) {
  (void)valueReferences;
  (void)nValueReferences;
  (void)counters;
  (void)resolutions;
  return fmu_unsupported(instance, "fmi3SetShiftFraction");
}

#endif
