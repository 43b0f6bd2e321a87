// The meter-sim CLI arrives with its issue; until then it says so instead of pretending.
process.stderr.write('meter-sim: no commands yet\n');
process.exitCode = 2;
