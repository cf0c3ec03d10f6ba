/* VanDerPolME2: the FMI 2.0 model-exchange Van der Pol oscillator with time events (see
 * ../common/van_der_pol_me.h for its variables and behaviour, ../common/fmu2_me_frame_impl.h
 * for the API around it). */
#include "me_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1c02}"

#include "van_der_pol_me.h"

#include "fmu2_me_frame_impl.h"
