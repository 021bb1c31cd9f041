/* main.c - placeholder until the proxy daemon lands. */
#include "config.h"
int main(void) { return 0; }
