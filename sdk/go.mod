module github.com/flagpilot/flagpilot/sdk

go 1.26.0

require (
	github.com/DataDog/sketches-go v1.4.8
	go.yaml.in/yaml/v3 v3.0.6
)

require google.golang.org/protobuf v1.36.11 // indirect

require (
	github.com/open-feature/go-sdk v1.20.0
	go.uber.org/mock v0.6.0 // indirect
)
