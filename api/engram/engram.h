// engram/engram.h — everything a program embedding Engram needs.
#pragma once

#include "engram/config.h"
#include "engram/database.h"
#include "engram/error.h"
#include "engram/filter.h"
#include "engram/memory.h"
#include "engram/memory_interface.h"
#include "engram/types.h"
#include "engram/version.h"
