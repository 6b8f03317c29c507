//go:build !cgo

package main

// A pure-Go build has no C library to ask.
func libcName() any           { return nil }
func libcReport(phase string) {}
func libcTzset()              {}
func setlocaleReport()        {}
