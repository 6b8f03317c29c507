module forensics/probes

go 1.21
