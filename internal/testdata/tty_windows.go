package testdata

// terminalPath is the console.
const terminalPath = "CONOUT$"
