//go:build cgo

package main

/*
#define _GNU_SOURCE
#include <stdio.h>
#include <locale.h>
#include <langinfo.h>
#include <stdlib.h>
#include <time.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
static const char *libc_name(void) { static char buf[32]; snprintf(buf, sizeof buf, "glibc %s", gnu_get_libc_version()); return buf; }
#else
// musl defines no macro of its own; not glibc is what this build can tell.
static const char *libc_name(void) { return "musl"; }
#endif

typedef struct { char zone[64]; long gmtoff; int ok; } zone_t;

static zone_t zone_of(struct tm *tm) {
	zone_t z = {{0}, 0, 0};
	if (tm == NULL) return z;
	snprintf(z.zone, sizeof z.zone, "%s", tm->tm_zone ? tm->tm_zone : "");
	z.gmtoff = tm->tm_gmtoff;
	z.ok = 1;
	return z;
}

// localtime_r is called first: glibc's localtime_r runs tzset only once per process,
// localtime runs it on every call (time/localtime.c, tzset_internal(always)).
static zone_t zone_localtime_r(void) { time_t t = time(NULL); struct tm tm; return zone_of(localtime_r(&t, &tm)); }
static zone_t zone_localtime(void) { time_t t = time(NULL); return zone_of(localtime(&t)); }
static const char *do_setlocale(void) { return setlocale(LC_ALL, ""); }
static const char *codeset(void) { return nl_langinfo(CODESET); }
*/
import "C"

import "forensics/probes/internal/report"

func libcName() any { return C.GoString(C.libc_name()) }

func zone(z C.zone_t) any {
	if z.ok == 0 {
		return nil
	}
	return map[string]any{"abbrev": C.GoString(&z.zone[0]), "offsetS": int(z.gmtoff)}
}

func libcReport(phase string) {
	r := C.zone_localtime_r()
	l := C.zone_localtime()
	report.Emit("libc", map[string]any{"phase": phase, "localtime_r": zone(r), "localtime": zone(l)})
}

func libcTzset() { C.tzset() }

func setlocaleReport() {
	res := C.do_setlocale()
	var out any
	if res != nil {
		out = C.GoString(res)
	}
	report.Emit("setlocale", map[string]any{"result": out, "codeset": C.GoString(C.codeset())})
}
