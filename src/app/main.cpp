// main() of the `doppel` binary: everything is wired in run_cli().
#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) { return doppel::app::run_cli(argc, argv, std::cout, std::cerr); }
