module github.com/agentguard/agentguard

go 1.26
