module lunora.sh/exec-helper

go 1.22
