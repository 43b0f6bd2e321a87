// The factory CLI arrives with its issue; until then it says so instead of pretending.
process.stderr.write('factory: no commands yet\n');
process.exitCode = 2;
