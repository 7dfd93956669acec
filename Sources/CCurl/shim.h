#ifndef HOLYSHEEP_CCURL_SHIM_H
#define HOLYSHEEP_CCURL_SHIM_H
#include <curl/curl.h>
#include <pthread.h>

// Swift cannot call C variadic functions: these typed wrappers stand in for curl_easy_setopt,
// curl_easy_getinfo and curl_multi_setopt, one per argument type.

static inline CURLcode hsl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
/// For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION (same signature).
static inline CURLcode hsl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode hsl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode hsl_easy_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode hsl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

static pthread_once_t hsl_curl_global_once = PTHREAD_ONCE_INIT;
static CURLcode hsl_curl_global_result = CURLE_OK;
static void hsl_curl_global_init_body(void) { hsl_curl_global_result = curl_global_init(CURL_GLOBAL_ALL); }
/// curl_global_init exactly once per process, thread-safely (it is not thread-safe itself before 7.84).
static inline CURLcode hsl_curl_global_init_once(void) {
    pthread_once(&hsl_curl_global_once, hsl_curl_global_init_body);
    return hsl_curl_global_result;
}
#endif
