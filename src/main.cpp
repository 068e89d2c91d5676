#include "cli/cli.hpp"

int main(int argc, char** argv) { return drove::cli::run(argc, argv); }
