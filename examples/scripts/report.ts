// A script step runs in its own process (runnable's notebook task): it gets its arguments on argv.
const [branch] = process.argv.slice(2)
console.log(`report for ${branch}`)
