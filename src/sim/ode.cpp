#include "sim/ode.h"

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include <cmath>
#include <string>

namespace doppel::sim {

struct ode_solver::impl {
  ode_system system;
  SUNContext ctx = nullptr;
  N_Vector y = nullptr;
  SUNMatrix a = nullptr;
  SUNLinearSolver ls = nullptr;
  SUNNonlinearSolver nls = nullptr;
  void* mem = nullptr;
  std::string last_error;  // CVODE's own message for the last failure
  std::vector<int> roots;

  ~impl() {
    if (mem) CVodeFree(&mem);
    if (ls) SUNLinSolFree(ls);
    if (nls) SUNNonlinSolFree(nls);
    if (a) SUNMatDestroy(a);
    if (y) N_VDestroy(y);
    if (ctx) SUNContext_Free(&ctx);
  }

  static int rhs(realtype t, N_Vector y, N_Vector ydot, void* user) {
    auto* self = static_cast<impl*>(user);
    double* out = N_VGetArrayPointer(ydot);
    self->system.rhs(t, N_VGetArrayPointer(y), out);
    for (std::size_t i = 0; i < self->system.states; ++i) {
      if (!std::isfinite(out[i])) return 1;  // recoverable: CVODE tries a smaller step
    }
    return 0;
  }
  static int roots_of(realtype t, N_Vector y, realtype* g, void* user) {
    auto* self = static_cast<impl*>(user);
    self->system.event_functions(t, N_VGetArrayPointer(y), g);
    return 0;
  }
  static void on_error(int, const char*, const char* function, char* message, void* user) {
    static_cast<impl*>(user)->last_error = std::string(function) + ": " + message;
  }
};

namespace {

std::string flag_text(int flag) {
  switch (flag) {
    case CV_TOO_MUCH_WORK: return "too many internal steps before the output time (the system may be stiff: use bdf)";
    case CV_TOO_MUCH_ACC: return "the tolerances asked for are tighter than the arithmetic allows";
    case CV_ERR_FAILURE: return "repeated error test failures (a discontinuity, or a state that blows up)";
    case CV_CONV_FAILURE: return "the corrector did not converge (the system may be stiff: use bdf)";
    case CV_RHSFUNC_FAIL:
    case CV_REPTD_RHSFUNC_ERR:
    case CV_UNREC_RHSFUNC_ERR: return "the right-hand side gave a value that is not finite";
    default: return "CVODE flag " + std::to_string(flag);
  }
}

}  // namespace

result<std::unique_ptr<ode_solver>> ode_solver::create(ode_system system, std::span<const double> y0, double t0,
                                                       const ode_options& o) {
  if (system.states == 0 || !system.rhs) return status::invalid_argument("an ODE system needs states and a rhs");
  if (y0.size() != system.states) {
    return status::invalid_argument("the initial state has " + std::to_string(y0.size()) + " values for " +
                                    std::to_string(system.states) + " states");
  }
  if (system.events && !system.event_functions) return status::invalid_argument("events without event functions");
  if (!(o.rtol > 0) || !(o.atol > 0)) return status::invalid_argument("tolerances must be positive");
  std::unique_ptr<ode_solver> s(new ode_solver());
  s->impl_ = std::make_unique<impl>();
  impl& m = *s->impl_;
  m.system = std::move(system);
  auto fail = [&](const char* what) { return status::internal(std::string("CVODE: ") + what + " failed"); };
  if (SUNContext_Create(nullptr, &m.ctx) != 0) return fail("SUNContext_Create");
  const auto n = static_cast<sunindextype>(m.system.states);
  m.y = N_VNew_Serial(n, m.ctx);
  if (!m.y) return fail("N_VNew_Serial");
  std::copy(y0.begin(), y0.end(), N_VGetArrayPointer(m.y));
  m.mem = CVodeCreate(o.method == ode_method::bdf ? CV_BDF : CV_ADAMS, m.ctx);
  if (!m.mem) return fail("CVodeCreate");
  CVodeSetErrHandlerFn(m.mem, impl::on_error, &m);
  if (CVodeInit(m.mem, impl::rhs, t0, m.y) != CV_SUCCESS) return fail("CVodeInit");
  CVodeSetUserData(m.mem, &m);
  if (CVodeSStolerances(m.mem, o.rtol, o.atol) != CV_SUCCESS) return fail("CVodeSStolerances");
  if (o.method == ode_method::bdf) {
    m.a = SUNDenseMatrix(n, n, m.ctx);
    m.ls = SUNLinSol_Dense(m.y, m.a, m.ctx);
    if (!m.a || !m.ls || CVodeSetLinearSolver(m.mem, m.ls, m.a) != CV_SUCCESS) return fail("the dense linear solver");
  } else {
    m.nls = SUNNonlinSol_FixedPoint(m.y, 0, m.ctx);
    if (!m.nls || CVodeSetNonlinearSolver(m.mem, m.nls) != CV_SUCCESS) return fail("the fixed-point solver");
  }
  CVodeSetMaxNumSteps(m.mem, o.max_steps);
  if (o.max_step > 0) CVodeSetMaxStep(m.mem, o.max_step);
  if (m.system.events) {
    if (CVodeRootInit(m.mem, static_cast<int>(m.system.events), impl::roots_of) != CV_SUCCESS) {
      return fail("CVodeRootInit");
    }
    m.roots.resize(m.system.events);
  }
  s->t_ = t0;
  s->y_.assign(y0.begin(), y0.end());
  return s;
}

ode_solver::~ode_solver() = default;

result<ode_stop> ode_solver::advance(double t_out, bool exact) {
  impl& m = *impl_;
  if (t_out <= t_) return ode_stop{t_, -1, 0};
  realtype reached = t_;
  m.last_error.clear();
  // Set on every exact call: a stop time once reached stays in force in this SUNDIALS version
  // until replaced, so a later call must move it along.
  if (exact && CVodeSetStopTime(m.mem, t_out) != CV_SUCCESS) {
    return status::internal("CVodeSetStopTime failed: " + m.last_error);
  }
  int flag = CVode(m.mem, t_out, m.y, &reached, CV_NORMAL);
  if (flag < 0) {
    return status::failed_precondition("the ODE solver stopped at t=" + std::to_string(reached) + ": " +
                                       flag_text(flag) + (m.last_error.empty() ? "" : " (" + m.last_error + ")"));
  }
  const double* y = N_VGetArrayPointer(m.y);
  y_.assign(y, y + m.system.states);
  t_ = reached;
  ode_stop stop{reached, -1, 0};
  if (flag == CV_ROOT_RETURN) {
    CVodeGetRootInfo(m.mem, m.roots.data());
    for (std::size_t i = 0; i < m.roots.size(); ++i) {
      if (m.roots[i] != 0) {
        stop.event = static_cast<int>(i);
        stop.direction = m.roots[i] > 0 ? 1 : -1;
        break;
      }
    }
  }
  return stop;
}

status ode_solver::reset(double t, std::span<const double> y) {
  impl& m = *impl_;
  if (y.size() != m.system.states) return status::invalid_argument("reset with the wrong number of states");
  std::copy(y.begin(), y.end(), N_VGetArrayPointer(m.y));
  if (CVodeReInit(m.mem, t, m.y) != CV_SUCCESS) return status::internal("CVodeReInit failed: " + m.last_error);
  t_ = t;
  // A restart from the state it holds (state() passed back) has nothing to copy; assigning a
  // vector from its own elements is not allowed.
  if (y.data() != y_.data()) y_.assign(y.begin(), y.end());
  return {};
}

long ode_solver::rhs_evaluations() const {
  long n = 0;
  CVodeGetNumRhsEvals(impl_->mem, &n);
  return n;
}

long ode_solver::steps() const {
  long n = 0;
  CVodeGetNumSteps(impl_->mem, &n);
  return n;
}

}  // namespace doppel::sim
