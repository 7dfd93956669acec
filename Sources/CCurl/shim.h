#ifndef HOLYSHEEP_CCURL_SHIM_H
#define HOLYSHEEP_CCURL_SHIM_H
#include <curl/curl.h>
#endif
