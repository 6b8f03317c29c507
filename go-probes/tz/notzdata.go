//go:build !tzdata

package main

const tzdataEmbedded = false
