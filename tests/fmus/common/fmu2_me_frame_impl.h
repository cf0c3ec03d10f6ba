/* The FMI 2.0 model-exchange frame of Doppel's test FMUs (see me_frame.h): every function of
 * the FMI 2.0 API, for model exchange only. Included last by a model file. */
#ifndef DOPPEL_TEST_FMU2_ME_FRAME_IMPL_H
#define DOPPEL_TEST_FMU2_ME_FRAME_IMPL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2_api.h"
#include "me_frame.h"

typedef enum { kInstantiated, kInitializationMode, kEventMode, kContinuousTimeMode, kTerminated } MeState;

typedef struct {
  char* name;
  fmi2CallbackFunctions callbacks;
  int logging_on;
  MeState state;
  double time;
  double next_time; /* < 0: none */
  ModelData model;
} Fmu;

#define ME_VAR_COUNT (sizeof kVars / sizeof kVars[0])

static void me_log(Fmu* fmu, fmi2Status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void me_log(Fmu* fmu, fmi2Status status, const char* format, ...) {
  char message[512];
  va_list args;
  if (!fmu->callbacks.logger) return;
  if (status == fmi2OK && !fmu->logging_on) return;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  /* The message never contains '%' (our formats print numbers and names only). */
  fmu->callbacks.logger(fmu->callbacks.componentEnvironment, fmu->name, status,
                        status == fmi2OK ? "logEvents" : "logStatusError", message);
}

static const char* me_state_name(MeState s) {
  switch (s) {
    case kInstantiated: return "Instantiated";
    case kInitializationMode: return "InitializationMode";
    case kEventMode: return "EventMode";
    case kContinuousTimeMode: return "ContinuousTimeMode";
    case kTerminated: return "Terminated";
  }
  return "?";
}

/* 1 when the instance is in one of the states of mask (bit per MeState), else logs and 0. */
static int me_in(Fmu* fmu, const char* function, unsigned mask) {
  if (!fmu) return 0;
  if (mask & (1u << fmu->state)) return 1;
  me_log(fmu, fmi2Error, "%s may not be called in state %s", function, me_state_name(fmu->state));
  return 0;
}
#define ME_ANY_BUT_INSTANTIATED \
  ((1u << kInitializationMode) | (1u << kEventMode) | (1u << kContinuousTimeMode) | (1u << kTerminated))

static int me_size(Fmu* fmu, const char* function, size_t got, size_t expected, const void* array) {
  if (got == expected && (expected == 0 || array)) return 1;
  me_log(fmu, fmi2Error, "%s: %zu values (array %s) where the FMU has %zu", function, got, array ? "given" : "NULL",
         expected);
  return 0;
}

const char* fmi2GetTypesPlatform(void) { return "default"; }
const char* fmi2GetVersion(void) { return "2.0"; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories,
                               const fmi2String categories[]) {
  Fmu* fmu = (Fmu*)c;
  (void)nCategories;
  (void)categories;
  if (!fmu) return fmi2Error;
  fmu->logging_on = loggingOn ? 1 : 0;
  return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions* functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
  Fmu probe;
  Fmu* fmu;
  size_t n;
  (void)visible;
  (void)fmuResourceLocation;
  if (!functions || !functions->allocateMemory || !functions->freeMemory) return NULL;
  memset(&probe, 0, sizeof probe);
  probe.callbacks = *functions;
  probe.name = (char*)(instanceName ? instanceName : "");
  if (fmuType != fmi2ModelExchange) {
    me_log(&probe, fmi2Error, "fmi2Instantiate: only model exchange (fmi2ModelExchange) is supported");
    return NULL;
  }
  if (!fmuGUID || strcmp(fmuGUID, MODEL_GUID) != 0) {
    me_log(&probe, fmi2Error, "fmi2Instantiate: wrong GUID %s, expected %s", fmuGUID ? fmuGUID : "(null)", MODEL_GUID);
    return NULL;
  }
  fmu = (Fmu*)functions->allocateMemory(1, sizeof *fmu);
  n = strlen(probe.name) + 1;
  if (!fmu || !(fmu->name = (char*)functions->allocateMemory(1, n))) {
    if (fmu) functions->freeMemory(fmu);
    me_log(&probe, fmi2Error, "fmi2Instantiate: out of memory");
    return NULL;
  }
  memcpy(fmu->name, probe.name, n);
  fmu->callbacks = *functions;
  fmu->logging_on = loggingOn ? 1 : 0;
  fmu->state = kInstantiated;
  fmu->next_time = -1;
  model_start(&fmu->model);
  return fmu;
}

void fmi2FreeInstance(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  fmi2CallbackFreeMemory release;
  if (!fmu) return;
  release = fmu->callbacks.freeMemory;
  release(fmu->name);
  release(fmu);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance, fmi2Real startTime,
                               fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
  Fmu* fmu = (Fmu*)c;
  (void)toleranceDefined;
  (void)tolerance;
  (void)stopTimeDefined;
  (void)stopTime;
  if (!me_in(fmu, "fmi2SetupExperiment", 1u << kInstantiated)) return fmi2Error;
  fmu->time = startTime;
  return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2EnterInitializationMode", 1u << kInstantiated)) return fmi2Error;
  fmu->state = kInitializationMode;
  return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  const char* why;
  if (!me_in(fmu, "fmi2ExitInitializationMode", 1u << kInitializationMode)) return fmi2Error;
  why = model_check(&fmu->model);
  if (why) {
    me_log(fmu, fmi2Error, "invalid start values: %s", why);
    return fmi2Error;
  }
  model_init(&fmu->model, fmu->time);
  fmu->state = kEventMode;
  return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2Terminate", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi2Error;
  fmu->state = kTerminated;
  return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu) return fmi2Error;
  memset(&fmu->model, 0, sizeof fmu->model);
  model_start(&fmu->model);
  fmu->state = kInstantiated;
  fmu->time = 0;
  fmu->next_time = -1;
  return fmi2OK;
}

static const MeVar* me_var(Fmu* fmu, const char* function, fmi2ValueReference vr) {
  size_t i;
  for (i = 0; i < ME_VAR_COUNT; ++i) {
    if (kVars[i].vr == vr) return &kVars[i];
  }
  me_log(fmu, fmi2Error, "%s: unknown value reference %u", function, vr);
  return NULL;
}

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  double dx[ME_NX];
  if (!me_in(fmu, "fmi2GetReal", ME_ANY_BUT_INSTANTIATED)) return fmi2Error;
  if (nvr > 0 && (!vr || !value)) return fmi2Error;
  /* Derivatives and outputs follow the current time and states. */
  model_derivatives(&fmu->model, fmu->time, dx);
  for (i = 0; i < nvr; ++i) {
    const MeVar* var = me_var(fmu, "fmi2GetReal", vr[i]);
    if (!var) return fmi2Error;
    value[i] = *(const double*)((const char*)&fmu->model + var->offset);
  }
  return fmi2OK;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!me_in(fmu, "fmi2SetReal", (1u << kInstantiated) | (1u << kInitializationMode))) return fmi2Error;
  if (nvr > 0 && (!vr || !value)) return fmi2Error;
  for (i = 0; i < nvr; ++i) {
    const MeVar* var = me_var(fmu, "fmi2SetReal", vr[i]);
    if (!var) return fmi2Error;
    if (var->kind == kMeCalculated) {
      me_log(fmu, fmi2Error, "fmi2SetReal: %s (value reference %u) is calculated and may not be set", var->name,
             var->vr);
      return fmi2Error;
    }
  }
  for (i = 0; i < nvr; ++i) *(double*)((char*)&fmu->model + me_var(fmu, "fmi2SetReal", vr[i])->offset) = value[i];
  return fmi2OK;
}

static fmi2Status me_no_such_type(fmi2Component c, const char* function, size_t nvr) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu) return fmi2Error;
  if (nvr == 0) return fmi2OK;
  me_log(fmu, fmi2Error, "%s: the FMU has no variables of this type", function);
  return fmi2Error;
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2GetInteger", nvr);
}
fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2GetBoolean", nvr);
}
fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2GetString", nvr);
}
fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2SetInteger", nvr);
}
fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2SetBoolean", nvr);
}
fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
  (void)vr;
  (void)value;
  return me_no_such_type(c, "fmi2SetString", nvr);
}

/* ---- Model exchange ---- */

fmi2Status fmi2EnterEventMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2EnterEventMode", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi2Error;
  fmu->state = kEventMode;
  return fmi2OK;
}

fmi2Status fmi2NewDiscreteStates(fmi2Component c, fmi2EventInfo* info) {
  Fmu* fmu = (Fmu*)c;
  int changed = 0, terminate = 0;
  double next = -1;
  if (!me_in(fmu, "fmi2NewDiscreteStates", 1u << kEventMode)) return fmi2Error;
  if (!info) return fmi2Error;
  model_event(&fmu->model, fmu->time, &changed, &terminate, &next);
  fmu->next_time = next;
  info->newDiscreteStatesNeeded = fmi2False;
  info->terminateSimulation = terminate ? fmi2True : fmi2False;
  info->nominalsOfContinuousStatesChanged = fmi2False;
  info->valuesOfContinuousStatesChanged = changed ? fmi2True : fmi2False;
  info->nextEventTimeDefined = next >= 0 ? fmi2True : fmi2False;
  info->nextEventTime = next >= 0 ? next : 0;
  return fmi2OK;
}

fmi2Status fmi2EnterContinuousTimeMode(fmi2Component c) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2EnterContinuousTimeMode", 1u << kEventMode)) return fmi2Error;
  fmu->state = kContinuousTimeMode;
  return fmi2OK;
}

fmi2Status fmi2CompletedIntegratorStep(fmi2Component c, fmi2Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi2Boolean* enterEventMode, fmi2Boolean* terminateSimulation) {
  Fmu* fmu = (Fmu*)c;
  (void)noSetFMUStatePriorToCurrentPoint;
  if (!me_in(fmu, "fmi2CompletedIntegratorStep", 1u << kContinuousTimeMode)) return fmi2Error;
  if (!enterEventMode || !terminateSimulation) return fmi2Error;
  *enterEventMode = fmi2False;
  *terminateSimulation = fmi2False;
  return fmi2OK;
}

fmi2Status fmi2SetTime(fmi2Component c, fmi2Real time) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2SetTime", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi2Error;
  if (!isfinite(time)) {
    me_log(fmu, fmi2Error, "fmi2SetTime: the time is not finite");
    return fmi2Error;
  }
  /* A time event may not be passed over: the importer must stop there. */
  if (fmu->next_time >= 0 && time > fmu->next_time + 1e-9 * (1.0 + fabs(fmu->next_time))) {
    me_log(fmu, fmi2Error, "fmi2SetTime(%.17g): past the time event at %.17g", time, fmu->next_time);
    return fmi2Error;
  }
  fmu->time = time;
  return fmi2OK;
}

fmi2Status fmi2SetContinuousStates(fmi2Component c, const fmi2Real x[], size_t nx) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2SetContinuousStates", 1u << kContinuousTimeMode)) return fmi2Error;
  if (!me_size(fmu, "fmi2SetContinuousStates", nx, ME_NX, x)) return fmi2Error;
  model_set_states(&fmu->model, x);
  return fmi2OK;
}

fmi2Status fmi2GetDerivatives(fmi2Component c, fmi2Real derivatives[], size_t nx) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2GetDerivatives", ME_ANY_BUT_INSTANTIATED)) return fmi2Error;
  if (!me_size(fmu, "fmi2GetDerivatives", nx, ME_NX, derivatives)) return fmi2Error;
  model_derivatives(&fmu->model, fmu->time, derivatives);
  return fmi2OK;
}

fmi2Status fmi2GetEventIndicators(fmi2Component c, fmi2Real eventIndicators[], size_t ni) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2GetEventIndicators", ME_ANY_BUT_INSTANTIATED)) return fmi2Error;
  if (!me_size(fmu, "fmi2GetEventIndicators", ni, ME_NZ, eventIndicators)) return fmi2Error;
  model_indicators(&fmu->model, fmu->time, eventIndicators);
  return fmi2OK;
}

fmi2Status fmi2GetContinuousStates(fmi2Component c, fmi2Real x[], size_t nx) {
  Fmu* fmu = (Fmu*)c;
  if (!me_in(fmu, "fmi2GetContinuousStates", ME_ANY_BUT_INSTANTIATED)) return fmi2Error;
  if (!me_size(fmu, "fmi2GetContinuousStates", nx, ME_NX, x)) return fmi2Error;
  model_get_states(&fmu->model, x);
  return fmi2OK;
}

fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component c, fmi2Real x_nominal[], size_t nx) {
  Fmu* fmu = (Fmu*)c;
  size_t i;
  if (!me_in(fmu, "fmi2GetNominalsOfContinuousStates", ME_ANY_BUT_INSTANTIATED)) return fmi2Error;
  if (!me_size(fmu, "fmi2GetNominalsOfContinuousStates", nx, ME_NX, x_nominal)) return fmi2Error;
  for (i = 0; i < nx; ++i) x_nominal[i] = 1.0;
  return fmi2OK;
}

/* The rest of the FMI 2.0 API, not supported (the capability flags say so): fmi2Error. */
static fmi2Status me_unsupported(fmi2Component c, const char* function) {
  Fmu* fmu = (Fmu*)c;
  if (!fmu) return fmi2Error;
  me_log(fmu, fmi2Error, "%s is not supported by this FMU", function);
  return fmi2Error;
}
fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate* state) {
  (void)state;
  return me_unsupported(c, "fmi2GetFMUstate");
}
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state) {
  (void)state;
  return me_unsupported(c, "fmi2SetFMUstate");
}
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate* state) {
  (void)state;
  return me_unsupported(c, "fmi2FreeFMUstate");
}
fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate state, size_t* size) {
  (void)state;
  (void)size;
  return me_unsupported(c, "fmi2SerializedFMUstateSize");
}
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate state, fmi2Byte serializedState[], size_t size) {
  (void)state;
  (void)serializedState;
  (void)size;
  return me_unsupported(c, "fmi2SerializeFMUstate");
}
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate* state) {
  (void)serializedState;
  (void)size;
  (void)state;
  return me_unsupported(c, "fmi2DeSerializeFMUstate");
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
  return me_unsupported(c, "fmi2GetDirectionalDerivative");
}

#endif
