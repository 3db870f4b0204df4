DQ.start().catch((err) => { document.getElementById("main").textContent = "dq view: " + (err && err.message ? err.message : err); });
