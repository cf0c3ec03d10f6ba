/* AllTypes3: an FMI 3.0 co-simulation FMU with an input and an echoing output of every FMI 3.0
 * variable type, an enumeration and a Float64 array. Each output equals its input at the start
 * (the start values), after fmi3ExitInitializationMode and after every fmi3DoStep; setting an
 * input changes its output only at the next of those points. Values are copied bit for bit, so
 * every value of a type round-trips, the extremes included:
 *   Int8 -128..127, UInt8 0..255, Int16 -32768..32767, UInt16 0..65535,
 *   Int32 -2147483648..2147483647, UInt32 0..4294967295,
 *   Int64 -9223372036854775808..9223372036854775807, UInt64 0..18446744073709551615,
 *   Float32 e.g. 3.4028235e38, -1.17549435e-38, 0.1f (echoed as the same float), NaN and inf.
 * Strings and binaries of any length (binary: empty included) are copied; the FMU keeps its own
 * copies and fmi3GetString/fmi3GetBinary return pointers to them (valid until the next call
 * that sets the variable, a fmi3DoStep, fmi3Reset or fmi3FreeInstance). The enumeration (type
 * Color: Red = 1, Green = 2, Blue = 3) goes through fmi3GetInt64/fmi3SetInt64; any Int64 is
 * accepted and echoed. The array goes through fmi3GetFloat64/fmi3SetFloat64 and counts 3 values
 * in nValues.
 *
 * Variables (value reference, causality, type, start); every *_out is an output with
 * initial="calculated" at the value reference after its input:
 *   time           0  independent  Float64   -
 *   float32_in     1  input        Float32   0.25       float32_out   2
 *   float64_in     3  input        Float64   0.5        float64_out   4
 *   int8_in        5  input        Int8      -8         int8_out      6
 *   uint8_in       7  input        UInt8     8          uint8_out     8
 *   int16_in       9  input        Int16     -16        int16_out    10
 *   uint16_in     11  input        UInt16    16         uint16_out   12
 *   int32_in      13  input        Int32     -32        int32_out    14
 *   uint32_in     15  input        UInt32    32         uint32_out   16
 *   int64_in      17  input        Int64     -64        int64_out    18
 *   uint64_in     19  input        UInt64    64         uint64_out   20
 *   bool_in       21  input        Boolean   true       bool_out     22
 *   string_in     23  input        String    "hello"    string_out   24
 *   binary_in     25  input        Binary    0a0b0c     binary_out   26
 *   enum_in       27  input        Enumeration (Int64, Color)  2 (Green)  enum_out  28
 *   array_in      29  input        Float64[3]  1 2 3    array_out    30 */
#include <stddef.h>
#include <string.h>

#include "fmu3_frame.h"

#define MODEL_TOKEN "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a32}"

typedef struct {
  fmi3Float32 float32_in, float32_out;
  fmi3Float64 float64_in, float64_out;
  fmi3Int8 int8_in, int8_out;
  fmi3UInt8 uint8_in, uint8_out;
  fmi3Int16 int16_in, int16_out;
  fmi3UInt16 uint16_in, uint16_out;
  fmi3Int32 int32_in, int32_out;
  fmi3UInt32 uint32_in, uint32_out;
  fmi3Int64 int64_in, int64_out;
  fmi3UInt64 uint64_in, uint64_out;
  fmi3Boolean bool_in, bool_out;
  char *string_in, *string_out;
  Fmu3Binary binary_in, binary_out;
  fmi3Int64 enum_in, enum_out;
  fmi3Float64 array_in[3], array_out[3];
} ModelData;

/* An input at value reference vr and its echoing output at vr + 1 (name is pasted, never expanded:
 * bool stays bool). */
/* clang-format off */
#define IO(name, vr, type, count, text)                                                   \
  {#name "_in", vr, type, kInput, offsetof(ModelData, name##_in), count, text},           \
  {#name "_out", vr + 1, type, kCalculated, offsetof(ModelData, name##_out), count, text}
/* clang-format on */

static const Fmu3Var kVars[] = {
    {"time", 0, kFloat64, kIndependent, 0, 1, NULL},
    IO(float32, 1, kFloat32, 1, NULL),
    IO(float64, 3, kFloat64, 1, NULL),
    IO(int8, 5, kInt8, 1, NULL),
    IO(uint8, 7, kUInt8, 1, NULL),
    IO(int16, 9, kInt16, 1, NULL),
    IO(uint16, 11, kUInt16, 1, NULL),
    IO(int32, 13, kInt32, 1, NULL),
    IO(uint32, 15, kUInt32, 1, NULL),
    IO(int64, 17, kInt64, 1, NULL),
    IO(uint64, 19, kUInt64, 1, NULL),
    IO(bool, 21, kBoolean, 1, NULL),
    IO(string, 23, kString, 1, "hello"),
    IO(binary, 25, kBinary, 1, "0a0b0c"),
    IO(enum, 27, kInt64, 1, NULL),
    IO(array, 29, kFloat64, 3, NULL),
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->float32_in = m->float32_out = 0.25f;
  m->float64_in = m->float64_out = 0.5;
  m->int8_in = m->int8_out = -8;
  m->uint8_in = m->uint8_out = 8;
  m->int16_in = m->int16_out = -16;
  m->uint16_in = m->uint16_out = 16;
  m->int32_in = m->int32_out = -32;
  m->uint32_in = m->uint32_out = 32;
  m->int64_in = m->int64_out = -64;
  m->uint64_in = m->uint64_out = 64;
  m->bool_in = m->bool_out = true;
  m->enum_in = m->enum_out = 2;
  m->array_in[0] = m->array_out[0] = 1.0;
  m->array_in[1] = m->array_out[1] = 2.0;
  m->array_in[2] = m->array_out[2] = 3.0;
  /* strings and binaries: kVars */
}

static fmi3Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi3OK;
}

static fmi3Status echo(Fmu* fmu, ModelData* m) {
  m->float32_out = m->float32_in;
  m->float64_out = m->float64_in;
  m->int8_out = m->int8_in;
  m->uint8_out = m->uint8_in;
  m->int16_out = m->int16_in;
  m->uint16_out = m->uint16_in;
  m->int32_out = m->int32_in;
  m->uint32_out = m->uint32_in;
  m->int64_out = m->int64_in;
  m->uint64_out = m->uint64_in;
  m->bool_out = m->bool_in;
  m->enum_out = m->enum_in;
  memcpy(m->array_out, m->array_in, sizeof m->array_out);
  if (!fmu_set_string(fmu, &m->string_out, m->string_in)) return fmi3Fatal;
  if (!fmu_set_binary(fmu, &m->binary_out, m->binary_in.data, m->binary_in.size)) return fmi3Fatal;
  return fmi3OK;
}

static void model_init(Fmu* fmu, ModelData* m) { (void)echo(fmu, m); }

static fmi3Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)t;
  (void)h;
  return echo(fmu, m);
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu3_frame_impl.h"
