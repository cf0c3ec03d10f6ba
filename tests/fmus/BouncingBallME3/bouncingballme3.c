/* BouncingBallME3: the FMI 3.0 model-exchange bouncing ball (see ../common/bouncing_ball_me.h
 * for its variables and behaviour, ../common/fmu3_me_frame_impl.h for the API around it). */
#include "me_frame.h"

#define MODEL_TOKEN "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1b03}"

#include "bouncing_ball_me.h"

#include "fmu3_me_frame_impl.h"
