/* The shared FMI 2.0 co-simulation frame of Doppel's test FMUs, part 2 (the FMI 2.0 API).
 * Included last by a model file; see fmu2_frame.h for what the model file defines first. */
#ifndef DOPPEL_TEST_FMU2_FRAME_IMPL_H
#define DOPPEL_TEST_FMU2_FRAME_IMPL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmu2_frame.h"

/* The model hooks. */
static void model_start(Fmu* fmu, ModelData* m);                          /* start values (strings: see Fmu2Var) */
static fmi2Status model_check(Fmu* fmu, ModelData* m);                    /* at fmi2ExitInitializationMode */
static void model_init(Fmu* fmu, ModelData* m);                           /* outputs at the end of initialization */
static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h); /* t -> t + h */
static void model_inputs_changed(Fmu* fmu, ModelData* m);                 /* after every successful fmi2Set... */

typedef enum { kInstantiated, kInitializationMode, kStepComplete, kStepFailed, kTerminated } Fmu2State;

struct Fmu {
  char* name;
  char* resource_location;
  fmi2CallbackFunctions callbacks;
  int logging_on;
  Fmu2State state;
  double time;
  ModelData model;
};

#define FMU_VAR_COUNT (sizeof kVars / sizeof kVars[0])

static void* fmu_alloc(const fmi2CallbackFunctions* cb, size_t size) {
  return cb->allocateMemory ? cb->allocateMemory(1, size) : calloc(1, size);
}

static void fmu_free(const fmi2CallbackFunctions* cb, void* p) {
  if (!p) return;
  if (cb->freeMemory)
    cb->freeMemory(p);
  else
    free(p);
}

static char* fmu_strdup(const fmi2CallbackFunctions* cb, const char* s) {
  size_t n = strlen(s) + 1;
  char* copy = (char*)fmu_alloc(cb, n);
  if (copy) memcpy(copy, s, n);
  return copy;
}

static void fmu_log(Fmu* fmu, fmi2Status status, const char* category, const char* format, ...) {
  char message[512];
  va_list args;
  if (!fmu->callbacks.logger) return;
  if (status == fmi2OK && !fmu->logging_on) return;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  /* The message never contains '%' (our formats print numbers and names only). */
  fmu->callbacks.logger(fmu->callbacks.componentEnvironment, fmu->name, status, category, message);
}

static int fmu_set_string(Fmu* fmu, char** slot, const char* value) {
  char* copy = fmu_strdup(&fmu->callbacks, value ? value : "");
  if (!copy) {
    fmu_log(fmu, fmi2Error, "logStatusError", "out of memory");
    return 0;
  }
  fmu_free(&fmu->callbacks, *slot);
  *slot = copy;
  return 1;
}

static double fmu_time(const Fmu* fmu) { return fmu->time; }

static void* fmu_field(Fmu* fmu, const Fmu2Var* var) { return (char*)&fmu->model + var->offset; }

static void fmu_free_strings(Fmu* fmu) {
  size_t i;
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].type == kString) {
      char** slot = (char**)fmu_field(fmu, &kVars[i]);
      fmu_free(&fmu->callbacks, *slot);
      *slot = NULL;
    }
  }
}

static int fmu_start(Fmu* fmu) {
  size_t i;
  fmu_free_strings(fmu);
  memset(&fmu->model, 0, sizeof fmu->model);
  model_start(fmu, &fmu->model);
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].type == kString && !fmu_set_string(fmu, (char**)fmu_field(fmu, &kVars[i]), kVars[i].string_start))
      return 0;
  }
  fmu->state = kInstantiated;
  fmu->time = 0.0;
  return 1;
}

static int fmu_check(Fmu* fmu, const char* function) {
  if (!fmu) return 0;
  (void)function;
  return 1;
}

static const char* fmu_state_name(Fmu2State s) {
  switch (s) {
    case kInstantiated: return "Instantiated";
    case kInitializationMode: return "InitializationMode";
    case kStepComplete: return "StepComplete";
    case kStepFailed: return "StepFailed";
    case kTerminated: return "Terminated";
  }
  return "?";
}

static fmi2Status fmu_wrong_state(Fmu* fmu, const char* function) {
  fmu_log(fmu, fmi2Error, "logStatusError", "%s may not be called in state %s", function, fmu_state_name(fmu->state));
  return fmi2Error;
}

/* ---- The FMI 2.0 API ---- */

const char* fmi2GetTypesPlatform(void) { return "default"; }
const char* fmi2GetVersion(void) { return "2.0"; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories,
                               const fmi2String categories[]) {
  Fmu* fmu = (Fmu*)c;
  (void)nCategories;
  (void)categories;
  if (!fmu_check(fmu, "fmi2SetDebugLogging")) return fmi2Error;
  fmu->logging_on = loggingOn ? 1 : 0;
  return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions* functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
  Fmu probe;
  Fmu* fmu;
  (void)visible;
  if (!functions) return NULL;
  memset(&probe, 0, sizeof probe);
  probe.callbacks = *functions;
  probe.name = (char*)(instanceName ? instanceName : "");
  if (!instanceName || !*instanceName) {
    fmu_log(&probe, fmi2Error, "logStatusError", "fmi2Instantiate: missing instance name");
    return NULL;
  }
  if (fmuType != fmi2CoSimulation) {
    fmu_log(&probe, fmi2Error, "logStatusError", "fmi2Instantiate: only co-simulation (fmi2CoSimulation) is supported");
    return NULL;
  }
  if (!fmuGUID || strcmp(fmuGUID, MODEL_GUID) != 0) {
    fmu_log(&probe, fmi2Error, "logStatusError", "fmi2Instantiate: wrong GUID %s, expected %s",
            fmuGUID ? fmuGUID : "(null)", MODEL_GUID);
    return NULL;
  }
  fmu = (Fmu*)fmu_alloc(functions, sizeof *fmu);
  if (!fmu) {
    fmu_log(&probe, fmi2Error, "logStatusError", "fmi2Instantiate: out of memory");
    return NULL;
  }
  memset(fmu, 0, sizeof *fmu);
  fmu->callbacks = *functions;
  fmu->logging_on = loggingOn ? 1 : 0;
  fmu->name = fmu_strdup(functions, instanceName);
  fmu->resource_location = fmu_strdup(functions, fmuResourceLocation ? fmuResourceLocation : "");
  if (!fmu->name || !fmu->resource_location || !fmu_start(fmu)) {
    fmu_log(&probe, fmi2Error, "logStatusError", "fmi2Instantiate: out of memory");
    fmu_free_strings(fmu);
    fmu_free(functions, fmu->name);
    fmu_free(functions, fmu->resource_location);
    fmu_free(functions, fmu);
    return NULL;
  }
  fmu_log(fmu, fmi2OK, "logEvents", "fmi2Instantiate: instance of %s", MODEL_GUID);
  return fmu;
}

void fmi2FreeInstance(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  fmi2CallbackFunctions cb;
  if (!fmu) return;
  cb = fmu->callbacks;
  fmu_free_strings(fmu);
  fmu_free(&cb, fmu->name);
  fmu_free(&cb, fmu->resource_location);
  fmu_free(&cb, fmu);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance, fmi2Real startTime,
                               fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
  Fmu* fmu = (Fmu*)c;
  (void)toleranceDefined;
  (void)tolerance;
  (void)stopTimeDefined;
  (void)stopTime;
  if (!fmu_check(fmu, "fmi2SetupExperiment")) return fmi2Error;
  if (fmu->state != kInstantiated) return fmu_wrong_state(fmu, "fmi2SetupExperiment");
  fmu->time = startTime;
  return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2EnterInitializationMode")) return fmi2Error;
  if (fmu->state != kInstantiated) return fmu_wrong_state(fmu, "fmi2EnterInitializationMode");
  fmu->state = kInitializationMode;
  return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2ExitInitializationMode")) return fmi2Error;
  if (fmu->state != kInitializationMode) return fmu_wrong_state(fmu, "fmi2ExitInitializationMode");
  if (model_check(fmu, &fmu->model) != fmi2OK) return fmi2Error;
  model_init(fmu, &fmu->model);
  fmu->state = kStepComplete;
  return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2Terminate")) return fmi2Error;
  if (fmu->state != kStepComplete && fmu->state != kStepFailed) return fmu_wrong_state(fmu, "fmi2Terminate");
  fmu->state = kTerminated;
  return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2Reset")) return fmi2Error;
  return fmu_start(fmu) ? fmi2OK : fmi2Fatal;
}

/* Finds the variable of a value reference and checks its type; logs and returns NULL if none. */
static const Fmu2Var* fmu_var(Fmu* fmu, const char* function, fmi2ValueReference vr, Fmu2Type type) {
  size_t i;
  static const char* const type_names[] = {"Real", "Integer", "Boolean", "String"};
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].vr == vr && kVars[i].type == type) return &kVars[i];
  }
  for (i = 0; i < FMU_VAR_COUNT; ++i) {
    if (kVars[i].vr == vr) {
      fmu_log(fmu, fmi2Error, "logStatusError", "%s: value reference %u (%s) is not of type %s", function, vr,
              kVars[i].name, type_names[type]);
      return NULL;
    }
  }
  fmu_log(fmu, fmi2Error, "logStatusError", "%s: unknown value reference %u", function, vr);
  return NULL;
}

static int fmu_may_get(Fmu* fmu, const char* function, const fmi2ValueReference vr[], size_t nvr, const void* value) {
  if (!fmu_check(fmu, function)) return 0;
  if (fmu->state == kInstantiated) {
    fmu_wrong_state(fmu, function);
    return 0;
  }
  if (nvr > 0 && (!vr || !value)) {
    fmu_log(fmu, fmi2Error, "logStatusError", "%s: null array", function);
    return 0;
  }
  return 1;
}

static int fmu_may_set(Fmu* fmu, const char* function, const Fmu2Var* var) {
  int before_end_of_init = fmu->state == kInstantiated || fmu->state == kInitializationMode;
  switch (var->kind) {
    case kCalculated:
      fmu_log(fmu, fmi2Error, "logStatusError", "%s: %s (value reference %u) is a calculated output and may not be set",
              function, var->name, var->vr);
      return 0;
    case kExact:
    case kParameter:
      if (before_end_of_init) return 1;
      fmu_log(fmu, fmi2Error, "logStatusError",
              "%s: %s (value reference %u) may only be set before fmi2ExitInitializationMode", function, var->name,
              var->vr);
      return 0;
    case kInput:
      if (before_end_of_init || fmu->state == kStepComplete) return 1;
      fmu_wrong_state(fmu, function);
      return 0;
  }
  return 0;
}

#define FMU2_GET(Name, Tag, CType)                                                                      \
  fmi2Status fmi2Get##Name(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, CType value[]) { \
    Fmu* fmu = (Fmu*)c;                                                                                 \
    size_t i;                                                                                           \
    if (!fmu_may_get(fmu, "fmi2Get" #Name, vr, nvr, value)) return fmi2Error;                           \
    for (i = 0; i < nvr; ++i) {                                                                         \
      const Fmu2Var* var = fmu_var(fmu, "fmi2Get" #Name, vr[i], Tag);                                   \
      if (!var) return fmi2Error;                                                                       \
      value[i] = *(CType*)fmu_field(fmu, var);                                                          \
    }                                                                                                   \
    return fmi2OK;                                                                                      \
  }

FMU2_GET(Real, kReal, fmi2Real)
FMU2_GET(Integer, kInteger, fmi2Integer)
FMU2_GET(Boolean, kBoolean, fmi2Boolean)
FMU2_GET(String, kString, fmi2String)

/* Checks every value reference first, so that a failing call changes nothing. */
static int fmu_check_set(Fmu* fmu, const char* function, const fmi2ValueReference vr[], size_t nvr, const void* value,
                         Fmu2Type type) {
  size_t i;
  if (!fmu_check(fmu, function)) return 0;
  if (nvr > 0 && (!vr || !value)) {
    fmu_log(fmu, fmi2Error, "logStatusError", "%s: null array", function);
    return 0;
  }
  for (i = 0; i < nvr; ++i) {
    const Fmu2Var* var = fmu_var(fmu, function, vr[i], type);
    if (!var || !fmu_may_set(fmu, function, var)) return 0;
  }
  return 1;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!fmu_check_set(fmu, "fmi2SetReal", vr, nvr, value, kReal)) return fmi2Error;
  for (i = 0; i < nvr; ++i) *(fmi2Real*)fmu_field(fmu, fmu_var(fmu, "fmi2SetReal", vr[i], kReal)) = value[i];
  model_inputs_changed(fmu, &fmu->model);
  return fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!fmu_check_set(fmu, "fmi2SetInteger", vr, nvr, value, kInteger)) return fmi2Error;
  for (i = 0; i < nvr; ++i) *(fmi2Integer*)fmu_field(fmu, fmu_var(fmu, "fmi2SetInteger", vr[i], kInteger)) = value[i];
  model_inputs_changed(fmu, &fmu->model);
  return fmi2OK;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!fmu_check_set(fmu, "fmi2SetBoolean", vr, nvr, value, kBoolean)) return fmi2Error;
  for (i = 0; i < nvr; ++i)
    *(fmi2Boolean*)fmu_field(fmu, fmu_var(fmu, "fmi2SetBoolean", vr[i], kBoolean)) = value[i] ? fmi2True : fmi2False;
  model_inputs_changed(fmu, &fmu->model);
  return fmi2OK;
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!fmu_check_set(fmu, "fmi2SetString", vr, nvr, value, kString)) return fmi2Error;
  for (i = 0; i < nvr; ++i) {
    if (!value[i]) {
      fmu_log(fmu, fmi2Error, "logStatusError", "fmi2SetString: null string for value reference %u", vr[i]);
      return fmi2Error;
    }
    if (!fmu_set_string(fmu, (char**)fmu_field(fmu, fmu_var(fmu, "fmi2SetString", vr[i], kString)), value[i]))
      return fmi2Fatal;
  }
  model_inputs_changed(fmu, &fmu->model);
  return fmi2OK;
}

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
  Fmu* fmu = (Fmu*)c;
  fmi2Status status;
  (void)noSetFMUStatePriorToCurrentPoint;
  if (!fmu_check(fmu, "fmi2DoStep")) return fmi2Error;
  if (fmu->state != kStepComplete) return fmu_wrong_state(fmu, "fmi2DoStep");
  if (!(communicationStepSize >= 0.0)) {
    fmu_log(fmu, fmi2Error, "logStatusError", "fmi2DoStep: negative communication step size %.17g",
            communicationStepSize);
    return fmi2Error;
  }
  if (fabs(currentCommunicationPoint - fmu->time) > 1e-9 * (1.0 + fabs(fmu->time))) {
    fmu_log(fmu, fmi2Error, "logStatusError",
            "fmi2DoStep: currentCommunicationPoint %.17g differs from the FMU's time %.17g", currentCommunicationPoint,
            fmu->time);
    return fmi2Error;
  }
  if (communicationStepSize == 0.0) return fmi2OK;
  status = model_step(fmu, &fmu->model, fmu->time, communicationStepSize);
  if (status == fmi2OK || status == fmi2Warning) {
    fmu->time = currentCommunicationPoint + communicationStepSize;
  } else {
    fmu->state = kStepFailed;
  }
  return status;
}

fmi2Status fmi2CancelStep(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2CancelStep")) return fmi2Error;
  fmu_log(fmu, fmi2Error, "logStatusError", "fmi2CancelStep: fmi2DoStep never returns fmi2Pending here");
  return fmi2Error;
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status* value) {
  Fmu* fmu = (Fmu*)c;
  (void)value;
  if (!fmu_check(fmu, "fmi2GetStatus")) return fmi2Error;
  fmu_log(fmu, fmi2Warning, "logStatusWarning", "fmi2GetStatus: status kind %d is not provided (no asynchronous steps)",
          (int)s);
  return fmi2Discard;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real* value) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2GetRealStatus")) return fmi2Error;
  if (s == fmi2LastSuccessfulTime && value) {
    *value = fmu_time(fmu);
    return fmi2OK;
  }
  fmu_log(fmu, fmi2Warning, "logStatusWarning", "fmi2GetRealStatus: status kind %d is not provided", (int)s);
  return fmi2Discard;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean* value) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, "fmi2GetBooleanStatus")) return fmi2Error;
  if (s == fmi2Terminated && value) {
    *value = fmi2False;
    return fmi2OK;
  }
  fmu_log(fmu, fmi2Warning, "logStatusWarning", "fmi2GetBooleanStatus: status kind %d is not provided", (int)s);
  return fmi2Discard;
}

fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer* value) {
  Fmu* fmu = (Fmu*)c;
  (void)value;
  if (!fmu_check(fmu, "fmi2GetIntegerStatus")) return fmi2Error;
  fmu_log(fmu, fmi2Warning, "logStatusWarning", "fmi2GetIntegerStatus: status kind %d is not provided", (int)s);
  return fmi2Discard;
}

fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String* value) {
  Fmu* fmu = (Fmu*)c;
  (void)value;
  if (!fmu_check(fmu, "fmi2GetStringStatus")) return fmi2Error;
  fmu_log(fmu, fmi2Warning, "logStatusWarning", "fmi2GetStringStatus: status kind %d is not provided", (int)s);
  return fmi2Discard;
}

/* The rest of the FMI 2.0 API (fmi2Functions.h of the standard), not in fmi2_api.h: FMU state,
 * directional derivatives and input derivatives are not supported (the modelDescription.xml
 * capability flags say so), and each function answers fmi2Error. The standard requires a
 * binary to export them all. */
fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer* value);
fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String* value);
fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate* state);
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state);
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate* state);
fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate state, size_t* size);
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate state, fmi2Byte serializedState[], size_t size);
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size, fmi2FMUstate* state);
fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown, const fmi2Real dvKnown[],
                                        fmi2Real dvUnknown[]);
fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[]);
fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[]);

static fmi2Status fmu_unsupported(fmi2Component c, const char* function) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu_check(fmu, function)) return fmi2Error;
  fmu_log(fmu, fmi2Error, "logStatusError", "%s is not supported by this FMU", function);
  return fmi2Error;
}

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate* state) {
  (void)state;
  return fmu_unsupported(c, "fmi2GetFMUstate");
}
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state) {
  (void)state;
  return fmu_unsupported(c, "fmi2SetFMUstate");
}
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate* state) {
  (void)state;
  return fmu_unsupported(c, "fmi2FreeFMUstate");
}
fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate state, size_t* size) {
  (void)state;
  (void)size;
  return fmu_unsupported(c, "fmi2SerializedFMUstateSize");
}
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate state, fmi2Byte serializedState[], size_t size) {
  (void)state;
  (void)serializedState;
  (void)size;
  return fmu_unsupported(c, "fmi2SerializeFMUstate");
}
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate* state) {
  (void)serializedState;
  (void)size;
  (void)state;
  return fmu_unsupported(c, "fmi2DeSerializeFMUstate");
}
fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown, const fmi2Real dvKnown[],
                                        fmi2Real dvUnknown[]) {
  (void)vUnknown_ref;
  (void)nUnknown;
  (void)vKnown_ref;
  (void)nKnown;
  (void)dvKnown;
  (void)dvUnknown;
  return fmu_unsupported(c, "fmi2GetDirectionalDerivative");
}
fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[]) {
  (void)vr;
  (void)nvr;
  (void)order;
  (void)value;
  return fmu_unsupported(c, "fmi2SetRealInputDerivatives");
}
fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[]) {
  (void)vr;
  (void)nvr;
  (void)order;
  (void)value;
  return fmu_unsupported(c, "fmi2GetRealOutputDerivatives");
}

#endif
