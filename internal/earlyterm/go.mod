module earlyterm

go 1.26
