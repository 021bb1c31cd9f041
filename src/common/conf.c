/* conf.c - placeholder until the config loader lands. */
#include "config.h"
#include "conf.h"
