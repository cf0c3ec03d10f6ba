/* The FMI 3.0 model-exchange frame of Doppel's test FMUs (see me_frame.h): the FMI 3.0 API for
 * model exchange. Included last by a model file. Value reference 0 is the independent variable
 * time. Only Float64 variables exist; the other types' get and set fail for any value
 * reference. FMU state, clocks, directional derivatives and configuration mode are not
 * provided (the capability flags say so) and are not exported. */
#ifndef DOPPEL_TEST_FMU3_ME_FRAME_IMPL_H
#define DOPPEL_TEST_FMU3_ME_FRAME_IMPL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi3_api.h"
#include "me_frame.h"

typedef enum { kInstantiated, kInitializationMode, kEventMode, kContinuousTimeMode, kTerminated } MeState;

typedef struct {
  fmi3InstanceEnvironment env;
  fmi3LogMessageCallback log;
  int logging_on;
  MeState state;
  double time;
  double next_time; /* < 0: none */
  ModelData model;
} Fmu;

#define ME_VAR_COUNT (sizeof kVars / sizeof kVars[0])

static void me_log(Fmu* fmu, fmi3Status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void me_log(Fmu* fmu, fmi3Status status, const char* format, ...) {
  char message[512];
  va_list args;
  if (!fmu->log) return;
  if (status == fmi3OK && !fmu->logging_on) return;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fmu->log(fmu->env, status, status == fmi3OK ? "logEvents" : "logStatusError", message);
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

static int me_in(Fmu* fmu, const char* function, unsigned mask) {
  if (!fmu) return 0;
  if (mask & (1u << fmu->state)) return 1;
  me_log(fmu, fmi3Error, "%s may not be called in state %s", function, me_state_name(fmu->state));
  return 0;
}
#define ME_ANY_BUT_INSTANTIATED \
  ((1u << kInitializationMode) | (1u << kEventMode) | (1u << kContinuousTimeMode) | (1u << kTerminated))

static int me_size(Fmu* fmu, const char* function, size_t got, size_t expected, const void* array) {
  if (got == expected && (expected == 0 || array)) return 1;
  me_log(fmu, fmi3Error, "%s: %zu values (array %s) where the FMU has %zu", function, got, array ? "given" : "NULL",
         expected);
  return 0;
}

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

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                          fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage) {
  Fmu probe;
  Fmu* fmu;
  (void)instanceName;
  (void)resourcePath;
  (void)visible;
  memset(&probe, 0, sizeof probe);
  probe.env = instanceEnvironment;
  probe.log = logMessage;
  if (!instantiationToken || strcmp(instantiationToken, MODEL_TOKEN) != 0) {
    me_log(&probe, fmi3Error, "fmi3InstantiateModelExchange: wrong instantiation token %s, expected %s",
           instantiationToken ? instantiationToken : "(null)", MODEL_TOKEN);
    return NULL;
  }
  fmu = (Fmu*)calloc(1, sizeof *fmu);
  if (!fmu) return NULL;
  fmu->env = instanceEnvironment;
  fmu->log = logMessage;
  fmu->logging_on = loggingOn ? 1 : 0;
  fmu->state = kInstantiated;
  fmu->next_time = -1;
  model_start(&fmu->model);
  return fmu;
}

void fmi3FreeInstance(fmi3Instance instance) { free(instance); }

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
  Fmu* fmu = (Fmu*)instance;
  (void)toleranceDefined;
  (void)tolerance;
  (void)stopTimeDefined;
  (void)stopTime;
  if (!me_in(fmu, "fmi3EnterInitializationMode", 1u << kInstantiated)) return fmi3Error;
  fmu->time = startTime;
  fmu->state = kInitializationMode;
  return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  const char* why;
  if (!me_in(fmu, "fmi3ExitInitializationMode", 1u << kInitializationMode)) return fmi3Error;
  why = model_check(&fmu->model);
  if (why) {
    me_log(fmu, fmi3Error, "invalid start values: %s", why);
    return fmi3Error;
  }
  model_init(&fmu->model, fmu->time);
  fmu->state = kEventMode;
  return fmi3OK;
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3EnterEventMode", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi3Error;
  fmu->state = kEventMode;
  return fmi3OK;
}

fmi3Status fmi3Terminate(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3Terminate", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi3Error;
  fmu->state = kTerminated;
  return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  memset(&fmu->model, 0, sizeof fmu->model);
  model_start(&fmu->model);
  fmu->state = kInstantiated;
  fmu->time = 0;
  fmu->next_time = -1;
  return fmi3OK;
}

static const MeVar* me_var(Fmu* fmu, const char* function, fmi3ValueReference vr) {
  size_t i;
  for (i = 0; i < ME_VAR_COUNT; ++i) {
    if (kVars[i].vr == vr) return &kVars[i];
  }
  me_log(fmu, fmi3Error, "%s: unknown value reference %u", function, (unsigned)vr);
  return NULL;
}

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Float64 values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  double dx[ME_NX];
  if (!me_in(fmu, "fmi3GetFloat64", ME_ANY_BUT_INSTANTIATED)) return fmi3Error;
  if (!me_size(fmu, "fmi3GetFloat64", nValues, nValueReferences, values)) return fmi3Error;
  model_derivatives(&fmu->model, fmu->time, dx);
  for (i = 0; i < nValueReferences; ++i) {
    const MeVar* var;
    if (valueReferences[i] == 0) {
      values[i] = fmu->time;
      continue;
    }
    var = me_var(fmu, "fmi3GetFloat64", valueReferences[i]);
    if (!var) return fmi3Error;
    values[i] = *(const double*)((const char*)&fmu->model + var->offset);
  }
  return fmi3OK;
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Float64 values[], size_t nValues) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!me_in(fmu, "fmi3SetFloat64", (1u << kInstantiated) | (1u << kInitializationMode))) return fmi3Error;
  if (!me_size(fmu, "fmi3SetFloat64", nValues, nValueReferences, values)) return fmi3Error;
  for (i = 0; i < nValueReferences; ++i) {
    const MeVar* var = me_var(fmu, "fmi3SetFloat64", valueReferences[i]);
    if (!var) return fmi3Error;
    if (var->kind == kMeCalculated) {
      me_log(fmu, fmi3Error, "fmi3SetFloat64: %s (value reference %u) is calculated and may not be set", var->name,
             var->vr);
      return fmi3Error;
    }
  }
  for (i = 0; i < nValueReferences; ++i) {
    *(double*)((char*)&fmu->model + me_var(fmu, "fmi3SetFloat64", valueReferences[i])->offset) = values[i];
  }
  return fmi3OK;
}

static fmi3Status me_no_such_type(fmi3Instance instance, const char* function, size_t n) {
  Fmu* fmu = (Fmu*)instance;
  if (!fmu) return fmi3Error;
  if (n == 0) return fmi3OK;
  me_log(fmu, fmi3Error, "%s: the FMU has no variables of this type", function);
  return fmi3Error;
}

#define ME_NO_GETSET(Name, Type)                                                                                       \
  fmi3Status fmi3Get##Name(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                           Type values[], size_t nValues) {                                                            \
    (void)valueReferences;                                                                                             \
    (void)values;                                                                                                      \
    (void)nValues;                                                                                                     \
    return me_no_such_type(instance, "fmi3Get" #Name, nValueReferences);                                               \
  }                                                                                                                    \
  fmi3Status fmi3Set##Name(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                           const Type values[], size_t nValues) {                                                      \
    (void)valueReferences;                                                                                             \
    (void)values;                                                                                                      \
    (void)nValues;                                                                                                     \
    return me_no_such_type(instance, "fmi3Set" #Name, nValueReferences);                                               \
  }
ME_NO_GETSET(Float32, fmi3Float32)
ME_NO_GETSET(Int8, fmi3Int8)
ME_NO_GETSET(UInt8, fmi3UInt8)
ME_NO_GETSET(Int16, fmi3Int16)
ME_NO_GETSET(UInt16, fmi3UInt16)
ME_NO_GETSET(Int32, fmi3Int32)
ME_NO_GETSET(UInt32, fmi3UInt32)
ME_NO_GETSET(Int64, fmi3Int64)
ME_NO_GETSET(UInt64, fmi3UInt64)
ME_NO_GETSET(Boolean, fmi3Boolean)
ME_NO_GETSET(String, fmi3String)
#undef ME_NO_GETSET

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         size_t valueSizes[], fmi3Binary values[], size_t nValues) {
  (void)valueReferences;
  (void)valueSizes;
  (void)values;
  (void)nValues;
  return me_no_such_type(instance, "fmi3GetBinary", nValueReferences);
}
fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         const size_t valueSizes[], const fmi3Binary values[], size_t nValues) {
  (void)valueReferences;
  (void)valueSizes;
  (void)values;
  (void)nValues;
  return me_no_such_type(instance, "fmi3SetBinary", nValueReferences);
}

/* ---- Model exchange ---- */

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean* discreteStatesNeedUpdate,
                                    fmi3Boolean* terminateSimulation, fmi3Boolean* nominalsOfContinuousStatesChanged,
                                    fmi3Boolean* valuesOfContinuousStatesChanged, fmi3Boolean* nextEventTimeDefined,
                                    fmi3Float64* nextEventTime) {
  Fmu* fmu = (Fmu*)instance;
  int changed = 0, terminate = 0;
  double next = -1;
  if (!me_in(fmu, "fmi3UpdateDiscreteStates", 1u << kEventMode)) return fmi3Error;
  if (!discreteStatesNeedUpdate || !terminateSimulation || !nominalsOfContinuousStatesChanged ||
      !valuesOfContinuousStatesChanged || !nextEventTimeDefined || !nextEventTime) {
    return fmi3Error;
  }
  model_event(&fmu->model, fmu->time, &changed, &terminate, &next);
  fmu->next_time = next;
  *discreteStatesNeedUpdate = false;
  *terminateSimulation = terminate != 0;
  *nominalsOfContinuousStatesChanged = false;
  *valuesOfContinuousStatesChanged = changed != 0;
  *nextEventTimeDefined = next >= 0;
  *nextEventTime = next >= 0 ? next : 0;
  return fmi3OK;
}

fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance instance) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3EnterContinuousTimeMode", 1u << kEventMode)) return fmi3Error;
  fmu->state = kContinuousTimeMode;
  return fmi3OK;
}

fmi3Status fmi3CompletedIntegratorStep(fmi3Instance instance, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi3Boolean* enterEventMode, fmi3Boolean* terminateSimulation) {
  Fmu* fmu = (Fmu*)instance;
  (void)noSetFMUStatePriorToCurrentPoint;
  if (!me_in(fmu, "fmi3CompletedIntegratorStep", 1u << kContinuousTimeMode)) return fmi3Error;
  if (!enterEventMode || !terminateSimulation) return fmi3Error;
  *enterEventMode = false;
  *terminateSimulation = false;
  return fmi3OK;
}

fmi3Status fmi3SetTime(fmi3Instance instance, fmi3Float64 time) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3SetTime", (1u << kEventMode) | (1u << kContinuousTimeMode))) return fmi3Error;
  if (!isfinite(time)) {
    me_log(fmu, fmi3Error, "fmi3SetTime: the time is not finite");
    return fmi3Error;
  }
  if (fmu->next_time >= 0 && time > fmu->next_time + 1e-9 * (1.0 + fabs(fmu->next_time))) {
    me_log(fmu, fmi3Error, "fmi3SetTime(%.17g): past the time event at %.17g", time, fmu->next_time);
    return fmi3Error;
  }
  fmu->time = time;
  return fmi3OK;
}

fmi3Status fmi3SetContinuousStates(fmi3Instance instance, const fmi3Float64 continuousStates[],
                                   size_t nContinuousStates) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3SetContinuousStates", 1u << kContinuousTimeMode)) return fmi3Error;
  if (!me_size(fmu, "fmi3SetContinuousStates", nContinuousStates, ME_NX, continuousStates)) return fmi3Error;
  model_set_states(&fmu->model, continuousStates);
  return fmi3OK;
}

fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance instance, fmi3Float64 derivatives[],
                                             size_t nContinuousStates) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3GetContinuousStateDerivatives", ME_ANY_BUT_INSTANTIATED)) return fmi3Error;
  if (!me_size(fmu, "fmi3GetContinuousStateDerivatives", nContinuousStates, ME_NX, derivatives)) return fmi3Error;
  model_derivatives(&fmu->model, fmu->time, derivatives);
  return fmi3OK;
}

fmi3Status fmi3GetEventIndicators(fmi3Instance instance, fmi3Float64 eventIndicators[], size_t nEventIndicators) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3GetEventIndicators", ME_ANY_BUT_INSTANTIATED)) return fmi3Error;
  if (!me_size(fmu, "fmi3GetEventIndicators", nEventIndicators, ME_NZ, eventIndicators)) return fmi3Error;
  model_indicators(&fmu->model, fmu->time, eventIndicators);
  return fmi3OK;
}

fmi3Status fmi3GetContinuousStates(fmi3Instance instance, fmi3Float64 continuousStates[], size_t nContinuousStates) {
  Fmu* fmu = (Fmu*)instance;
  if (!me_in(fmu, "fmi3GetContinuousStates", ME_ANY_BUT_INSTANTIATED)) return fmi3Error;
  if (!me_size(fmu, "fmi3GetContinuousStates", nContinuousStates, ME_NX, continuousStates)) return fmi3Error;
  model_get_states(&fmu->model, continuousStates);
  return fmi3OK;
}

fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance instance, fmi3Float64 nominals[], size_t nContinuousStates) {
  Fmu* fmu = (Fmu*)instance;
  size_t i;
  if (!me_in(fmu, "fmi3GetNominalsOfContinuousStates", ME_ANY_BUT_INSTANTIATED)) return fmi3Error;
  if (!me_size(fmu, "fmi3GetNominalsOfContinuousStates", nContinuousStates, ME_NX, nominals)) return fmi3Error;
  for (i = 0; i < nContinuousStates; ++i) nominals[i] = 1.0;
  return fmi3OK;
}

fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance instance, size_t* nEventIndicators) {
  if (!instance || !nEventIndicators) return fmi3Error;
  *nEventIndicators = ME_NZ;
  return fmi3OK;
}

fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance instance, size_t* nContinuousStates) {
  if (!instance || !nContinuousStates) return fmi3Error;
  *nContinuousStates = ME_NX;
  return fmi3OK;
}

#endif
